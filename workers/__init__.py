"""The worker process: registers workflows and activities on the order task queue."""
