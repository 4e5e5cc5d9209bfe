"""Read-only views of the workspace for the front ends (the review app, the trainer)."""
