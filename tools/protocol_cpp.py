"""The C++ half of tools/gen_protocol.py: writes a header and a source for one schema's model.

See gen_protocol.py for what becomes what. Only the Python standard library is used.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from gen_protocol import (Model, SchemaError, TypeInfo, comment, cpp_string, enumerator, field_identifier,
                          method_identifier)

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
