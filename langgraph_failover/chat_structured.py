"""The drop-in's structured output by JSON: LangChain's `json_schema` and `json_mode` methods.

`function_calling`, the default, forces a tool call, as `BaseChatModel` does; every
provider in the chain can answer that (Ollama when offered the one tool, the mock with
schema-valid arguments). The two JSON methods ask every provider for JSON output instead,
in OpenAI's `response_format` spelling (ChatOllama turns it into Ollama's `format`; the
mock answers a JSON schema with a valid instance). JSON mode sends no schema: the key
names are only in the prompt, and the schema is only used to parse the answer.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema
from langchain_core.utils.pydantic import is_basemodel_subclass

JSON_METHODS = ("json_schema", "json_mode")


def json_output(
    model: BaseChatModel, schema: Any, method: str, *, include_raw: bool, strict: bool | None
) -> Runnable[Any, Any]:
    """`model` asked for JSON by `method`, its answer parsed (with the raw one if asked)."""
    json_schema = convert_to_json_schema(schema)
    if method == "json_schema":
        spec = {"name": json_schema.get("title", "output"), "schema": json_schema}
        response_format: dict[str, Any] = {"type": "json_schema", "json_schema": spec}
        if strict is not None:
            spec["strict"] = strict
    else:
        response_format = {"type": "json_object"}
    traced = {"kwargs": {"method": method}, "schema": json_schema}
    bound = model.bind(response_format=response_format, ls_structured_output_format=traced)
    parser: Runnable[Any, Any]
    if isinstance(schema, type) and is_basemodel_subclass(schema):
        parser = PydanticOutputParser(pydantic_object=schema)
    else:
        parser = JsonOutputParser()
    if not include_raw:
        return bound | parser
    # As BaseChatModel does: the raw answer always, the parsed one or the parsing error.
    parsed = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    unparsed = RunnablePassthrough.assign(parsed=lambda _: None)
    fallback = parsed.with_fallbacks([unparsed], exception_key="parsing_error")
    return RunnableMap(raw=bound) | fallback
