"""Validation's parts; `pipeline_xl.core.schema` is the public face and the specification."""

__all__: list[str] = []
