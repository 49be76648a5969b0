"""Generate C++ types and a method table from one of asyncode's JSON Schemas.

    gen_protocol.py SCHEMA --namespace NS --header OUT.h --source OUT.cpp --include INC
                    [--import SCHEMA=NS=INC ...]

The schema is the only hand-written definition of the wire; this writes, for every $def that a
method of `x-methods` reaches:

- an enum for each `enum` def, with its wire strings (toString, fromString);
- a struct for each object def, whose fields are named exactly as the wire's keys, with
  `decode()` (errors name the JSON path: "params.mode: expected one of ...") and `to_json()` /
  `from_json()` beside it;
- a `using` alias for every other def (strings, integers, ids, open dictionaries);
- `methods::<name>`: a typed descriptor per method (`rpc::RequestType<Params, Result>` or
  `rpc::NotificationType<Params>`), `kMethods` (the table, as data) and `forEachMethod(f)`.

How schema keywords become C++ (see the README's "How it is built"):
- a property in `required` is a plain field; one that may also be null (`anyOf` with null) is a
  std::optional written as null when empty; an optional property is a std::optional, written only
  when set, unless it has a `default` (on the property or its def): then it is a plain field
  holding that default, and written only when it differs from it;
- integer -> std::int64_t, number -> double (`"x-cpp-type": "int64"`: an integer, as the daemon
  takes whole milliseconds), boolean -> bool, string -> std::string, array -> std::vector,
  an object of `additionalProperties` only -> std::map<std::string, T>, anything else (true,
  several types, an object that is open by pattern) -> rpc::Json;
- `minimum` and the types of a multi-type value are checked by decode(); `const` is written and
  checked; if/then/allOf, maxLength, uniqueItems and patterns are left to the schema's validators.
Inline objects are refused: give them a $def (generators name types after $defs and titles).

Only the Python standard library is used; CMake runs this with the build's python3. The C++
writing is in protocol_cpp.py, beside this file.
"""
from __future__ import annotations

import argparse
import json
import keyword
import os
import re
import sys
import textwrap
from dataclasses import dataclass, field

CPP_KEYWORDS = set("""alignas alignof and and_eq asm auto bitand bitor bool break case catch char
char8_t char16_t char32_t class compl concept const consteval constexpr constinit const_cast
continue co_await co_return co_yield decltype default delete do double dynamic_cast else enum
explicit export extern false float for friend goto if inline int long mutable namespace new
noexcept not not_eq nullptr operator or or_eq private protected public register reinterpret_cast
requires return short signed sizeof static static_assert static_cast struct switch template this
thread_local throw true try typedef typeid typename union unsigned using virtual void volatile
wchar_t while xor xor_eq""".split())


class SchemaError(Exception):
    pass


def method_identifier(name: str) -> str:
    """`session/open` -> sessionOpen, `$/cancelRequest` -> cancelRequest (the C++ name of a method)."""
    parts = [p for p in re.split(r"[/$]+", name) if p]
    ident = parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])
    if not re.fullmatch(r"[A-Za-z_]\w*", ident) or ident in CPP_KEYWORDS:
        raise SchemaError("method %r has no usable C++ name (%r)" % (name, ident))
    return ident


def enumerator(value: str) -> str:
    """A wire string as an enumerator: `keyboardInterrupt` -> KeyboardInterrupt."""
    ident = re.sub(r"\W", "_", value)
    ident = ident[:1].upper() + ident[1:]
    if not re.fullmatch(r"[A-Za-z_]\w*", ident):
        raise SchemaError("enum value %r has no usable C++ name" % value)
    return ident


def field_identifier(key: str, where: str) -> str:
    if not re.fullmatch(r"[A-Za-z_]\w*", key) or key in CPP_KEYWORDS or keyword.iskeyword(key):
        raise SchemaError("%s: the wire key %r cannot be a C++ field name" % (where, key))
    return key


def comment(text: str | None, indent: str = "") -> list[str]:
    if not text:
        return []
    return [indent + "// " + line for line in textwrap.wrap(text, 100 - len(indent) - 3)]


def cpp_string(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Reading the schemas


class Schema:
    def __init__(self, path: str, namespace: str, include: str):
        self.path = path
        self.file = os.path.basename(path)
        self.namespace = namespace
        self.include = include
        with open(path, encoding="utf-8") as f:
            self.doc = json.load(f)
        self.defs = self.doc.get("$defs", {})
        self.methods = self.doc.get("x-methods", {})


@dataclass
class TypeInfo:
    cpp: str                          # the C++ spelling (qualified when from another schema)
    nullable: bool = False            # null is a value too
    json_types: list | None = None    # a rpc::Json that must be one of these JSON types
    minimum: float | None = None
    const: object = None
    enum: str | None = None           # the enum's C++ name, for default literals
    is_json: bool = False
    deps: set = field(default_factory=set)


class Model:
    def __init__(self, main: Schema, imports: list[Schema]):
        self.main = main
        self.by_file = {s.file: s for s in [main] + imports}
        self.kinds: dict[str, str] = {}  # def name of the main schema -> struct/enum/alias/noparams

    # -- references
    def resolve_ref(self, ref: str, schema: Schema) -> tuple[Schema, str]:
        file, _, pointer = ref.partition("#")
        target = self.by_file.get(file) if file else schema
        if target is None:
            raise SchemaError("%s: $ref %r names a schema that was not given (--import)" % (schema.file, ref))
        if not pointer.startswith("/$defs/"):
            raise SchemaError("%s: $ref %r must point into $defs" % (schema.file, ref))
        name = pointer[len("/$defs/"):]
        if name not in target.defs:
            raise SchemaError("%s: $ref %r: no such $def" % (schema.file, ref))
        return target, name

    def qualified(self, schema: Schema, name: str) -> str:
        return name if schema is self.main else "::" + schema.namespace + "::" + name

    # -- classification of a def
    def def_kind(self, d: dict) -> str:
        if "enum" in d:
            return "enum"
        types = d.get("type")
        if isinstance(types, list) and {"object", "array", "null"} <= set(types) and "properties" not in d:
            return "noparams"
        if "$ref" in d:
            return "alias"
        if d.get("type") == "object" and "properties" in d:
            if "patternProperties" in d or isinstance(d.get("additionalProperties"), dict):
                return "alias"  # an open dictionary with a few known keys: kept as JSON
            return "struct"
        return "alias"

    def def_type(self, schema: Schema, name: str) -> TypeInfo:
        """The TypeInfo of a reference to def `name`: its C++ name, with the def's constraints."""
        d = schema.defs[name]
        kind = self.def_kind(d)
        info = TypeInfo(cpp=self.qualified(schema, name))
        if kind == "alias":
            inner = self.type_of(d, schema, "$defs/" + name, top=True)
            info.nullable, info.json_types, info.minimum = inner.nullable, inner.json_types, inner.minimum
            info.is_json, info.enum = inner.is_json, inner.enum
        elif kind == "enum":
            info.enum = info.cpp
        if schema is self.main:
            info.deps.add(name)
        return info

    # -- the C++ type of a schema node
    def type_of(self, node, schema: Schema, where: str, top: bool = False) -> TypeInfo:
        if node is True or node == {}:
            return TypeInfo("rpc::Json", is_json=True)
        if not isinstance(node, dict):
            raise SchemaError("%s: unsupported schema %r" % (where, node))
        if "$ref" in node:
            target, name = self.resolve_ref(node["$ref"], schema)
            info = self.def_type(target, name)
            if "minimum" in node:
                info.minimum = node["minimum"]
            return info
        if "const" in node:
            value = node["const"]
            cpp = {bool: "bool", int: "std::int64_t", str: "std::string"}.get(type(value))
            if cpp is None:
                raise SchemaError("%s: unsupported const %r" % (where, value))
            return TypeInfo(cpp, const=value)
        if "enum" in node and not top:
            raise SchemaError("%s: an inline enum: give it a $def" % where)
        if "anyOf" in node:
            branches = node["anyOf"]
            others = [b for b in branches if b != {"type": "null"}]
            if len(others) == 1 and len(branches) == 2:
                info = self.type_of(others[0], schema, where)
                info.nullable = True
                return info
            return TypeInfo("rpc::Json", is_json=True)
        types = node.get("type")
        if isinstance(types, list):
            nullable = "null" in types
            rest = [t for t in types if t != "null"]
            if len(rest) == 1:
                info = self.type_of(dict(node, type=rest[0]), schema, where, top)
                info.nullable = nullable
                return info
            return TypeInfo("rpc::Json", is_json=True, json_types=list(types))
        if types == "string":
            return TypeInfo("std::string")
        if types == "boolean":
            return TypeInfo("bool")
        if types == "null":
            return TypeInfo("std::nullptr_t")
        if types == "integer" or (types == "number" and node.get("x-cpp-type") == "int64"):
            return TypeInfo("std::int64_t", minimum=node.get("minimum"))
        if types == "number":
            return TypeInfo("double", minimum=node.get("minimum"))
        if types == "array":
            item = self.type_of(node.get("items", True), schema, where + "[]")
            return TypeInfo("std::vector<%s>" % item.cpp, deps=item.deps)
        if types == "object":
            extra = node.get("additionalProperties")
            if "properties" not in node and isinstance(extra, dict):
                item = self.type_of(extra, schema, where + "{}")
                return TypeInfo("std::map<std::string, %s>" % item.cpp, deps=item.deps)
            if "properties" in node and not top:
                raise SchemaError("%s: an inline object: give it a $def" % where)
            return TypeInfo("rpc::Json", is_json=True, json_types=["object"])
        if types is None and top:
            return TypeInfo("rpc::Json", is_json=True)
        raise SchemaError("%s: unsupported type %r" % (where, types))

    def default_of(self, node: dict, schema: Schema):
        if "default" in node:
            return node["default"]
        if "$ref" in node:
            target, name = self.resolve_ref(node["$ref"], schema)
            return self.default_of(target.defs[name], target)
        return None

    # -- which defs to write, in an order where each comes after what it uses
    def reachable(self) -> list[str]:
        seen: list[str] = []

        def visit(node, schema):
            if isinstance(node, dict):
                if "$ref" in node:
                    target, name = self.resolve_ref(node["$ref"], schema)
                    if target is self.main and name not in seen:
                        seen.append(name)
                        visit(target.defs[name], target)
                for k, v in node.items():
                    if k not in ("$ref", "x-methods", "$defs"):
                        visit(v, schema)
            elif isinstance(node, list):
                for v in node:
                    visit(v, schema)

        visit(self.main.methods, self.main)
        return seen


def write_if_changed(path: str, text: str) -> None:
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("schema")
    ap.add_argument("--namespace", required=True)
    ap.add_argument("--include", required=True, help="how the header is included (protocol/protocol.h)")
    ap.add_argument("--header", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--import", dest="imports", action="append", default=[],
                    help="SCHEMA=NAMESPACE=INCLUDE of a schema whose $defs this one refers to")
    args = ap.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves this folder out
    from protocol_cpp import Writer  # the C++ half
    try:
        main_schema = Schema(args.schema, args.namespace, args.include)
        imports = [Schema(*spec.split("=", 2)) for spec in args.imports]
        header, source = Writer(Model(main_schema, imports), args.header).run(args.source)
    except SchemaError as e:
        print("gen_protocol.py: %s: %s" % (args.schema, e), file=sys.stderr)
        return 1
    write_if_changed(args.header, header)
    write_if_changed(args.source, source)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
