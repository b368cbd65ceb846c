"""Receipt printing for the app: a durable print queue, its worker, and PNG previews."""
