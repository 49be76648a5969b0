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

Only the Python standard library is used; CMake runs this with the build's python3.
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


# ---------------------------------------------------------------------------------------------
# Writing C++


@dataclass
class Field:
    key: str
    cpp: str           # the field's declared type
    info: TypeInfo
    mode: str          # required | nullable | optional | default
    default: str | None = None


class Writer:
    def __init__(self, model: Model, header_name: str):
        self.model = model
        self.main = model.main
        self.header_name = header_name
        self.h: list[str] = []
        self.c: list[str] = []

    def literal(self, value, info: TypeInfo) -> str:
        if info.enum:
            return "%s::%s" % (info.enum, enumerator(value))
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return repr(value)
        if isinstance(value, str):
            return cpp_string(value)
        raise SchemaError("unsupported default %r" % (value,))

    def fields_of(self, name: str, d: dict) -> list[Field]:
        out = []
        required = set(d.get("required", []))
        for key, node in d["properties"].items():
            where = "%s.%s" % (name, key)
            field_identifier(key, where)
            info = self.model.type_of(node, self.main, where)
            default = self.model.default_of(node, self.main) if isinstance(node, dict) else None
            if info.const is not None:
                out.append(Field(key, info.cpp, info, "required", self.literal(info.const, info)))
            elif key in required and info.nullable:
                mode = "json" if info.is_json else "nullable"  # a rpc::Json holds null itself
                out.append(Field(key, info.cpp if info.is_json else "std::optional<%s>" % info.cpp, info, mode))
            elif key in required:
                out.append(Field(key, info.cpp, info, "required"))
            elif default is not None:
                out.append(Field(key, info.cpp, info, "default", self.literal(default, info)))
            else:
                out.append(Field(key, "std::optional<%s>" % info.cpp, info, "optional"))
        return out

    # -- enums
    def enum(self, name: str, d: dict) -> None:
        values = d["enum"]
        self.h += comment(d.get("description"))
        self.h.append("enum class %s { %s };" % (name, ", ".join(enumerator(v) for v in values)))
        self.h.append("const char* toString(%s value);" % name)
        self.h.append("bool fromString(std::string_view text, %s& out);" % name)
        self.h += self.codec_declarations(name, by_value=True)
        table = "k%sNames" % name
        self.c.append("namespace {")
        self.c.append("constexpr std::array<std::pair<std::string_view, %s>, %d> %s{{" % (name, len(values), table))
        for v in values:
            self.c.append("    {%s, %s::%s}," % (cpp_string(v), name, enumerator(v)))
        self.c.append("}};")
        self.c.append("}  // namespace")
        self.c.append("const char* toString(%s value) {" % name)
        self.c.append("  switch (value) {")
        for v in values:
            self.c.append("    case %s::%s: return %s;" % (name, enumerator(v), cpp_string(v)))
        self.c.append("  }")
        self.c.append('  return "";')
        self.c.append("}")
        self.c.append("bool fromString(std::string_view text, %s& out) { return rpc::enumFromString(%s, text, out); }"
                      % (name, table))
        self.c.append("void decode(const Json& j, %s& out, const std::string& path) { rpc::decodeEnum(j, out, path, %s); }"
                      % (name, table))
        self.c.append("void to_json(Json& j, %s value) { j = toString(value); }" % name)
        self.c.append("void from_json(const Json& j, %s& out) { decode(j, out, \"$\"); }" % name)
        self.c.append("")

    def codec_declarations(self, name: str, by_value: bool = False) -> list[str]:
        arg = name + " value" if by_value else "const %s& value" % name
        return ["void decode(const rpc::Json& j, %s& out, const std::string& path);" % name,
                "void to_json(rpc::Json& j, %s);" % arg,
                "void from_json(const rpc::Json& j, %s& out);" % name,
                ""]

    # -- structs
    def struct(self, name: str, d: dict) -> None:
        fields = self.fields_of(name, d)
        self.h += comment(d.get("description"))
        self.h.append("struct %s {" % name)
        for f in fields:
            # Every field has an initializer: aggregates may then name only some fields.
            init = " = %s" % f.default if f.default is not None else "{}"
            self.h.append("  %s %s%s;" % (f.cpp, f.key, init))
        self.h.append("  friend bool operator==(const %s&, const %s&) = default;" % (name, name))
        self.h.append("};")
        self.h += self.codec_declarations(name)
        self.decoder(name, fields)
        self.encoder(name, fields)
        self.c.append("void from_json(const Json& j, %s& out) { decode(j, out, \"$\"); }" % name)
        self.c.append("")

    def decoder(self, name: str, fields: list[Field]) -> None:
        self.c.append("void decode(const Json& j, %s& out, const std::string& path) {" % name)
        self.c.append("  rpc::ObjectMapper m(j, path);")
        for f in fields:
            call = {"required": "required", "nullable": "optional", "optional": "optional",
                    "default": "optionalOr", "json": "optionalOr"}[f.mode]
            self.c.append("  m.%s(%s, out.%s);" % (call, cpp_string(f.key), f.key))
        for f in fields:
            self.c += self.checks(f)
        self.c.append("}")

    def checks(self, f: Field) -> list[str]:
        out = []
        at = 'path + ".%s"' % f.key
        value = "*out.%s" % f.key if f.mode in ("nullable", "optional") else "out.%s" % f.key
        guard = "out.%s" % f.key if f.mode in ("nullable", "optional") else None
        if f.info.const is not None:
            out.append('  if (out.%s != %s) throw rpc::DecodeError(%s + ": expected %s");'
                       % (f.key, f.default, at, json.dumps(f.info.const).replace('"', '\\"')))
        if f.info.minimum is not None and not f.info.is_json:
            check = "rpc::checkMinimum(%s, %r, %s);" % (value, f.info.minimum, at)
            out.append("  if (%s) %s" % (guard, check) if guard else "  " + check)
        if f.info.json_types:
            types = ", ".join(cpp_string(t) for t in f.info.json_types)
            check = "rpc::expectTypes(%s, {%s}, %s);" % (value, types, at)
            if f.info.nullable:
                out.append("  if (!%s.is_null()) %s" % (value, check))
            elif guard:
                out.append("  if (%s) %s" % (guard, check))
            else:
                out.append("  " + check)
        return out

    def encoder(self, name: str, fields: list[Field]) -> None:
        self.c.append("void to_json(Json& j, const %s& value) {" % name)
        self.c.append("  j = Json::object();")
        for f in fields:
            key = cpp_string(f.key)
            if f.mode in ("required", "json"):
                self.c.append("  j[%s] = value.%s;" % (key, f.key))
            elif f.mode == "nullable":
                self.c.append("  j[%s] = value.%s ? Json(*value.%s) : Json(nullptr);" % (key, f.key, f.key))
            elif f.mode == "optional":
                self.c.append("  if (value.%s) j[%s] = *value.%s;" % (f.key, key, f.key))
            else:
                self.c.append("  if (value.%s != %s) j[%s] = value.%s;" % (f.key, f.default, key, f.key))
        self.c.append("}")

    # -- empty params and aliases
    def noparams(self, name: str, d: dict) -> None:
        self.h += comment(d.get("description"))
        self.h.append("struct %s {" % name)
        self.h.append("  friend bool operator==(const %s&, const %s&) = default;" % (name, name))
        self.h.append("};")
        self.h += self.codec_declarations(name)
        self.c.append("void decode(const Json&, %s&, const std::string&) {}  // anything goes" % name)
        self.c.append("void to_json(Json& j, const %s&) { j = nullptr; }" % name)
        self.c.append("void from_json(const Json&, %s&) {}" % name)
        self.c.append("")

    def alias(self, name: str, d: dict) -> None:
        info = self.model.type_of(d, self.main, "$defs/" + name, top=True)
        cpp = info.cpp
        if info.nullable and not info.is_json:
            cpp = "std::optional<%s>" % cpp
        self.h += comment(d.get("description"))
        self.h.append("using %s = %s;" % (name, cpp))
        self.h.append("")

    # -- methods
    def methods(self) -> None:
        model = self.model
        entries = []
        for method, e in self.main.methods.items():
            ident = method_identifier(method)
            params = model.type_of(e["params"], self.main, "x-methods." + method).cpp
            if e["kind"] == "request":
                result = model.type_of(e["result"], self.main, "x-methods." + method).cpp
                decl = "rpc::RequestType<%s, %s>" % (params, result)
            else:
                result = None
                decl = "rpc::NotificationType<%s>" % params
            entries.append((method, ident, e, decl, params, result))
        self.h.append("// ---- methods " + "-" * 86)
        self.h.append("namespace methods {")
        for method, ident, e, decl, params, result in entries:
            what = "%s %s (%s)" % (e["kind"], method, e["direction"])
            self.h.append("// %s: %s%s" % (what, params, " -> " + result if result else ""))
            self.h.append("inline constexpr %s %s{%s, %s};" % (decl, ident, cpp_string(method), cpp_string(e["direction"])))
        self.h.append("}  // namespace methods")
        self.h.append("")
        self.h.append("// Every method of %s, in its order, as data." % self.main.file)
        self.h.append("inline constexpr std::array<rpc::MethodInfo, %d> kMethods{{" % len(entries))
        for method, ident, e, decl, params, result in entries:
            kind = "rpc::MethodKind::Request" if e["kind"] == "request" else "rpc::MethodKind::Notification"
            self.h.append("    {%s, %s, %s, %s, %s, %s}," % (
                cpp_string(method), kind, cpp_string(e["direction"]), cpp_string(e["params"]["$ref"]),
                cpp_string(e["result"]["$ref"] if "result" in e else ""), cpp_string(e.get("link", ""))))
        self.h.append("}};")
        self.h.append("")
        self.h.append("// Calls f with each method's typed descriptor, in the table's order.")
        self.h.append("template <class F>")
        self.h.append("void forEachMethod(F&& f) {")
        for method, ident, *_ in entries:
            self.h.append("  f(methods::%s);" % ident)
        self.h.append("}")

    def run(self, source_file: str) -> tuple[str, str]:
        names = self.model.reachable()
        order = self.ordered(names)
        for name in order:
            d = self.main.defs[name]
            kind = self.model.def_kind(d)
            getattr(self, {"enum": "enum", "struct": "struct", "noparams": "noparams", "alias": "alias"}[kind])(name, d)
        self.methods()
        return self.header(), self.source()

    def ordered(self, names: list[str]) -> list[str]:
        done: list[str] = []

        def deps(name):
            d = self.main.defs[name]
            kind = self.model.def_kind(d)
            out = set()
            if kind == "struct":
                for key, node in d["properties"].items():
                    out |= self.model.type_of(node, self.main, name + "." + key).deps
            elif kind == "alias":
                out |= self.model.type_of(d, self.main, name, top=True).deps
            out.discard(name)
            return out

        def visit(name, stack):
            if name in done:
                return
            if name in stack:
                raise SchemaError("$defs/%s refers to itself" % name)
            for dep in sorted(deps(name)):
                visit(dep, stack + [name])
            done.append(name)

        for n in names:
            visit(n, [])
        return done

    def header(self) -> str:
        imports = [s for s in self.model.by_file.values() if s is not self.main]
        lines = ["// Generated by tools/gen_protocol.py from schema/%s: do not edit." % self.main.file,
                 "// " + (self.main.doc.get("title") or ""),
                 "#pragma once",
                 "",
                 "#include <array>", "#include <cstddef>", "#include <cstdint>", "#include <map>",
                 "#include <optional>", "#include <string>", "#include <string_view>", "#include <vector>",
                 "",
                 '#include "rpc/decode.h"', '#include "rpc/jsonrpc.h"', '#include "rpc/method.h"']
        lines += ['#include "%s"' % s.include for s in imports]
        lines += ["", "namespace %s {" % self.main.namespace, ""]
        lines += self.h
        lines += ["", "}  // namespace %s" % self.main.namespace, ""]
        return "\n".join(lines)

    def source(self) -> str:
        lines = ["// Generated by tools/gen_protocol.py from schema/%s: do not edit." % self.main.file,
                 '#include "%s"' % self.main.include, "", "#include <utility>", "",
                 "namespace %s {" % self.main.namespace, "", "using rpc::Json;", ""]
        lines += self.c
        lines += ["}  // namespace %s" % self.main.namespace, ""]
        return "\n".join(lines)


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
