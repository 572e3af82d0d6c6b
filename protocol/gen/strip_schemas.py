#!/usr/bin/env python3
"""Reduces Kafka message schema files to the facts the generator needs.

Usage: strip_schemas.py <input dir> <output dir>

Every `//` comment and every "about" text is dropped; only the keys listed below survive, in their
original order. An unexpected key stops the script, so a schema feature the generator does not know
about cannot slip through unnoticed. Each field object is written on one line, nested fields indented.
"""
import json
import pathlib
import sys

TOP_KEYS = ["apiKey", "type", "listeners", "name", "validVersions", "flexibleVersions",
            "deprecatedVersions", "latestVersionUnstable", "fields", "commonStructs"]
FIELD_KEYS = ["name", "type", "versions", "nullableVersions", "taggedVersions", "tag", "default",
              "ignorable", "mapKey", "entityType", "flexibleVersions", "zeroCopy", "fields"]
STRUCT_KEYS = ["name", "versions", "fields"]
DROPPED = {"about"}


def strip_comments(text):
    """Removes // and /* */ comments outside string literals."""
    out = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_string = False
            i += 1
        elif c == '"':
            in_string = True
            out.append(c)
            i += 1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def keep(obj, allowed, where):
    result = {}
    for key, value in obj.items():
        if key in DROPPED:
            continue
        if key not in allowed:
            raise SystemExit(f"{where}: unexpected key {key!r}")
        result[key] = value
    return result


def clean_fields(fields, where):
    cleaned = []
    for field in fields:
        f = keep(field, FIELD_KEYS, f"{where}.{field.get('name')}")
        if "fields" in f:
            f["fields"] = clean_fields(f["fields"], f"{where}.{f['name']}")
        cleaned.append(f)
    return cleaned


def render_fields(fields, indent):
    pad = " " * indent
    lines = []
    for k, field in enumerate(fields):
        head = {key: value for key, value in field.items() if key != "fields"}
        text = json.dumps(head, separators=(", ", ": "))
        comma = "," if k + 1 < len(fields) else ""
        if "fields" in field:
            lines.append(pad + text[:-1] + ', "fields": [')
            lines.extend(render_fields(field["fields"], indent + 2))
            lines.append(pad + "]}" + comma)
        else:
            lines.append(pad + text + comma)
    return lines


def render(schema):
    lines = ["{"]
    items = list(schema.items())
    for k, (key, value) in enumerate(items):
        comma = "," if k + 1 < len(items) else ""
        if key == "fields":
            lines.append('  "fields": [')
            lines.extend(render_fields(value, 4))
            lines.append("  ]" + comma)
        elif key == "commonStructs":
            lines.append('  "commonStructs": [')
            for j, struct in enumerate(value):
                head = {sk: sv for sk, sv in struct.items() if sk != "fields"}
                lines.append("    " + json.dumps(head, separators=(", ", ": "))[:-1] + ', "fields": [')
                lines.extend(render_fields(struct["fields"], 6))
                lines.append("    ]}" + ("," if j + 1 < len(value) else ""))
            lines.append("  ]" + comma)
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: strip_schemas.py <input dir> <output dir>")
    src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    dst.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in sorted(src.glob("*.json")):
        schema = keep(json.loads(strip_comments(path.read_text())), TOP_KEYS, path.name)
        schema["fields"] = clean_fields(schema["fields"], schema["name"])
        if "commonStructs" in schema:
            structs = []
            for struct in schema["commonStructs"]:
                s = keep(struct, STRUCT_KEYS, f"{path.name}:{struct.get('name')}")
                s["fields"] = clean_fields(s["fields"], s["name"])
                structs.append(s)
            schema["commonStructs"] = structs
        text = render(schema)
        if json.loads(text) != schema:
            raise SystemExit(f"{path.name}: rendering changed the content")
        (dst / path.name).write_text(text)
        count += 1
    print(f"wrote {count} schemas to {dst}")


if __name__ == "__main__":
    main()
