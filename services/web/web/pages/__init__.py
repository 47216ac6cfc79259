"""The pages, one module per concern; each route only turns a request into API calls."""
