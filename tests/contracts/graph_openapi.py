"""Requests held against Microsoft's published OpenAPI description of Graph (the extracts in
../shared/reference/external/: graph-openapi-b2c.json and graph-openapi-external-id.json): the path
and method exist in that API version, every body property is known to the schema and of its type,
enum values and `@odata.type` discriminators are valid, nothing read-only is written, null only where
the CSDL allows it, and `$ref` bodies have the documented shape and address what they should.

Written by hand: openapi-core validates against an OpenAPI document, but Graph's generated schemas
allow any extra property (additionalProperties: {type: object}), which would let a misspelt
property through; and the `$ref` operations and client-supplied keys are documented beside the
OpenAPI, not in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

# Paging links come back from Graph itself; the client only follows them.
SERVER_ISSUED_QUERY = {"$skiptoken"}


def _supplied(pointer: str, client_keys: set[str]) -> bool:
    """Whether the client supplies this key: client_supplied_keys are JSON pointers, where `*`
    stands for any one segment (an array index)."""
    parts = pointer.split("/")
    return any(
        len(key.split("/")) == len(parts)
        and all(k in ("*", p) for k, p in zip(key.split("/"), parts, strict=True))
        for key in client_keys
    )


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # /v1.0/identity/... or /beta/identity/...
    query: str
    body: Any


class GraphDescription:
    def __init__(self, extract: Mapping[str, Any]) -> None:
        self.extract = extract

    # -- lookup --------------------------------------------------------------------------------

    def _document(self, version: str) -> Mapping[str, Any]:
        return self.extract["versions"][version]

    def _schema(self, version: str, ref: str) -> Mapping[str, Any]:
        name = ref.removeprefix("#/components/schemas/")
        return self._document(version)["components"]["schemas"][name]

    @staticmethod
    def _matches(template: str, path: str) -> bool:
        pattern = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", template)
        )
        return re.fullmatch(pattern, path) is not None

    def operation(self, version: str, method: str, path: str) -> tuple[str, Mapping[str, Any], bool] | None:
        """(template, operation, documented-only) for a request, the most literal template first."""
        paths = self._document(version)["paths"]
        found = sorted((t for t in paths if self._matches(t, path)), key=lambda t: t.count("{"))
        for template in found:
            if method.lower() in paths[template]:
                return template, paths[template][method.lower()], False
        for entry in self.extract.get("documented_not_in_openapi", {}).get(version, []):
            if entry["method"] == method.lower() and self._matches(entry["path"], path):
                return entry["path"], entry, True
        return None

    # -- schemas -------------------------------------------------------------------------------

    def _resolve(self, version: str, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            schema = self._schema(version, schema["$ref"])
        return schema

    def _chain(self, version: str, schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The schema and everything it inherits through allOf."""
        schema = self._resolve(version, schema)
        chain = [schema]
        for part in schema.get("allOf", []):
            chain += self._chain(version, part)
        return chain

    def _properties(self, version: str, schema: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
        properties: dict[str, Mapping[str, Any]] = {}
        for part in reversed(self._chain(version, schema)):
            properties.update(part.get("properties", {}))
        return properties

    def _discriminated(
        self,
        version: str,
        schema: Mapping[str, Any],
        value: Mapping[str, Any],
        pointer: str,
        problems: list[str],
    ) -> Mapping[str, Any]:
        chain = self._chain(version, schema)
        mapping = next(
            (part["x-discriminator"]["mapping"] for part in chain if "x-discriminator" in part), None
        )
        odata_type = value.get("@odata.type")
        if mapping is None:
            return schema
        if odata_type is None:
            # Abstractness is not inherited: identityUserFlowAttribute derives from the abstract entity.
            if chain[0].get("x-abstract"):
                problems.append(f"{pointer}: an abstract type needs @odata.type, one of {sorted(mapping)}")
            return schema
        if odata_type not in mapping:
            problems.append(f"{pointer}/@odata.type {odata_type!r} is not one of {sorted(mapping)}")
            return schema
        return {"$ref": mapping[odata_type]}

    def _validate(
        self,
        version: str,
        schema: Mapping[str, Any],
        value: Any,
        pointer: str,
        problems: list[str],
        client_keys: set[str],
    ) -> None:
        schema = self._resolve(version, schema)
        for combinator in ("anyOf", "oneOf"):
            if combinator in schema:
                attempts = []
                for option in schema[combinator]:
                    found: list[str] = []
                    self._validate(version, option, value, pointer, found, client_keys)
                    attempts.append(found)
                if all(attempts):
                    problems.extend(min(attempts, key=len))
                return
        if value is None:
            if not any(part.get("nullable") for part in self._chain(version, schema)):
                problems.append(f"{pointer}: null is not allowed here")
            return
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{pointer}: {value!r} is not one of {schema['enum']}")
            return
        kind = next((part.get("type") for part in self._chain(version, schema) if part.get("type")), None)
        if kind == "object" or (kind is None and self._properties(version, schema)):
            if not isinstance(value, Mapping):
                problems.append(f"{pointer}: expected an object, got {type(value).__name__}")
                return
            schema = self._discriminated(version, schema, value, pointer, problems)
            properties = self._properties(version, schema)
            for name, item in value.items():
                where = f"{pointer}/{name}"
                if name == "@odata.type":
                    continue
                if name not in properties:
                    problems.append(f"{where}: not a property of {self._title(version, schema)}")
                    continue
                if "Read-only" in str(properties[name].get("description", "")) and not _supplied(
                    where, client_keys
                ):
                    problems.append(f"{where}: read-only, must not be written")
                if item is None and self._csdl_nullable(version, schema, name):
                    continue
                self._validate(version, properties[name], item, where, problems, client_keys)
        elif kind == "array":
            if not isinstance(value, list):
                problems.append(f"{pointer}: expected an array")
                return
            for index, item in enumerate(value):
                self._validate(
                    version, schema.get("items", {}), item, f"{pointer}/{index}", problems, client_keys
                )
        elif kind == "string" and not isinstance(value, str):
            problems.append(f"{pointer}: expected a string, got {value!r}")
        elif kind == "boolean" and not isinstance(value, bool):
            problems.append(f"{pointer}: expected a boolean, got {value!r}")
        elif kind in ("number", "integer") and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            problems.append(f"{pointer}: expected a number, got {value!r}")

    def _csdl_nullable(self, version: str, schema: Mapping[str, Any], name: str) -> bool:
        """Whether the CSDL lets this property be null. OData properties are nullable unless
        declared Nullable=false, but the OpenAPI conversion marks only primitive ones: where the
        extract carries the CSDL (x-csdl-types), it decides for the others."""
        types = self._document(version).get("x-csdl-types", {})
        for part in self._chain(version, schema):
            declared = types.get(f"microsoft.graph.{part.get('title', '')}", {}).get("properties", {})
            if name in declared:
                return bool(declared[name].get("nullable") != "false")
        return False

    def _title(self, version: str, schema: Mapping[str, Any]) -> str:
        return next((part["title"] for part in self._chain(version, schema) if "title" in part), "the schema")

    # -- requests ------------------------------------------------------------------------------

    def violations(self, request: Request) -> list[str]:
        version, _, path = request.path.lstrip("/").partition("/")
        path = "/" + path
        label = f"{request.method} /{version}{path}"
        if version not in self.extract["versions"]:
            return [f"{label}: no API version {version!r}"]
        found = self.operation(version, request.method, path)
        if found is None:
            return [f"{label}: no such path and method in Graph {version}"]
        template, operation, documented = found
        problems: list[str] = []
        query = parse_qs(request.query)
        problems += self._query(version, template, operation, documented, query)
        body = request.body if request.body is not None else {}
        if request.method in ("GET", "DELETE"):
            if body:
                problems.append("a body on a request that takes none")
        elif documented:
            problems += self._reference_body(version, operation, body)
        else:
            schema = self._request_schema(version, operation)
            if schema is None:
                # An action that takes no body (validateAuthenticationConfiguration) is sent none.
                if body:
                    problems.append("a body the operation does not describe")
            else:
                client_keys = {
                    entry["pointer"]
                    for entry in self.extract.get("client_supplied_keys", [])
                    if entry["method"] == request.method.lower() and entry["path"] == template
                }
                self._validate(version, schema, body, "", problems, client_keys)
                problems += self._documented_rules(version, template, request.method.lower(), body)
                problems += self._reference_target(version, template, body)
        return [f"{label}: {problem}" for problem in problems]

    def _query(
        self,
        version: str,
        template: str,
        operation: Mapping[str, Any],
        documented: bool,
        query: Mapping[str, list[str]],
    ) -> list[str]:
        problems: list[str] = []
        components = self._document(version)["components"].get("parameters", {})
        parameters = [
            components[p["$ref"].rsplit("/", 1)[-1]] if "$ref" in p else p
            for p in operation.get("parameters", [])
        ]
        declared = {parameter["name"]: parameter for parameter in parameters}
        for name, values in query.items():
            if name in SERVER_ISSUED_QUERY:
                continue
            if documented and name == "$expand":
                # Documented: $expand names steps of userFlowApiConnectorConfiguration.
                shape = self._document(version)["components"]["schemas"][
                    "microsoft.graph.userFlowApiConnectorConfiguration"
                ]
                known = set(shape["properties"])
                problems += [
                    f"$expand {item!r} is not one of {sorted(known)}"
                    for value in values
                    for item in value.split(",")
                    if item not in known
                ]
            elif name not in declared:
                problems.append(f"query parameter {name} is not declared for {template}")
            else:
                schema = declared[name].get("schema", {})
                allowed = schema.get("items", {}).get("enum") or schema.get("enum")
                items = [item for value in values for item in value.split(",")]
                problems += [
                    f"{name} {item!r} is not one of {allowed}"
                    for item in items
                    if allowed and item not in allowed
                ]
        return problems

    def _request_schema(self, version: str, operation: Mapping[str, Any]) -> Mapping[str, Any] | None:
        request_body = operation.get("requestBody", {})
        if "$ref" in request_body:
            name = request_body["$ref"].rsplit("/", 1)[-1]
            request_body = self._document(version)["components"]["requestBodies"][name]
        schema: Mapping[str, Any] | None = (
            request_body.get("content", {}).get("application/json", {}).get("schema")
        )
        return schema

    def _reference_target(self, version: str, template: str, body: Mapping[str, Any]) -> list[str]:
        """A `$ref` write in the OpenAPI says only ReferenceCreate; what its @odata.id must address
        is listed beside it (x-ref-targets)."""
        target = self.extract.get("x-ref-targets", {}).get("targets", {}).get(template)
        if target is None:
            return []
        wanted = f"/{version}{target}"
        if not self._matches(wanted, urlsplit(str(body.get("@odata.id", ""))).path):
            return [f"@odata.id {body.get('@odata.id')!r} does not point at {wanted}"]
        return []

    def _reference_body(self, version: str, entry: Mapping[str, Any], body: Any) -> list[str]:
        if body in entry.get("also_accepts_body", []):
            return []
        if not isinstance(body, Mapping) or set(body) != {"@odata.id"}:
            return [
                f"a $ref body must be {{'@odata.id': ...}} or one of {entry.get('also_accepts_body', [])}, not {body!r}"
            ]
        target = urlsplit(str(body["@odata.id"])).path
        wanted = f"/{version}{entry['ref_target']['path']}"
        if not self._matches(wanted, target):
            return [f"@odata.id {body['@odata.id']!r} does not point at {wanted}"]
        return []

    def _documented_rules(
        self, version: str, template: str, method: str, body: Mapping[str, Any]
    ) -> list[str]:
        problems: list[str] = []
        for rule in self.extract.get("docs_required", []):
            if rule["method"] == method and rule["path"] == template and version in rule["versions"]:
                problems += [
                    f"/{name}: required by the docs" for name in rule["properties"] if name not in body
                ]
        for rule in self.extract.get("docs_write_types", []):
            if template in rule["paths"] and method in rule["methods"]:
                node = body.get(rule["pointer"].strip("/"))
                if node is not None and node.get("@odata.type") not in rule["types"]:
                    problems.append(
                        f"{rule['pointer']}/@odata.type {node.get('@odata.type')!r}: writes take {rule['types']}"
                    )
        return problems
