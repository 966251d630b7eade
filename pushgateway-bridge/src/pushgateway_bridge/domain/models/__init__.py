"""Request bodies of the three seed APIs, as pydantic models, one module an API; enums and timestamps are
validated here.

Every rule is also in the JSON schema the OpenAPI document publishes (patterns, bounds, the shape of a
pipeline's metadata), except two no schema can state: a timestamp at most 10 minutes ahead, and a body's
scheduler_id equal to the path's; both are answered with 422 naming the field.
"""
