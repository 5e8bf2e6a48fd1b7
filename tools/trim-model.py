#!/usr/bin/env python3
"""Write a trimmed copy of a botocore service model for one Perimeter service.

The gateway's codecs read these models (shapes, locations, error codes). We keep
only the operations a service implements and the shapes they reach, without
documentation, so the files stay small and reviewable.

usage: tools/trim-model.py SERVICE OUT.json [OPERATION ...]
(no operations: keep them all)
"""
import gzip
import json
import os
import sys

import botocore


def load(service):
    root = os.path.join(os.path.dirname(botocore.__file__), "data", service)
    version = sorted(os.listdir(root))[-1]
    path = os.path.join(root, version, "service-2.json.gz")
    if not os.path.exists(path):
        path = path[: -len(".gz")]
        return json.load(open(path))
    return json.load(gzip.open(path))


DROP = {"documentation", "documentationUrl", "examples", "deprecatedMessage", "contextParam",
        "staticContextParams", "operationContextParams", "endpointdiscovery", "httpChecksum"}


def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in DROP}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def reach(shapes, name, seen):
    if name in seen:
        return
    seen.add(name)
    shape = shapes[name]
    for member in shape.get("members", {}).values():
        reach(shapes, member["shape"], seen)
    for part in ("member", "key", "value"):
        if part in shape:
            reach(shapes, shape[part]["shape"], seen)


def main():
    service, out, ops = sys.argv[1], sys.argv[2], sys.argv[3:]
    model = load(service)
    unknown = [op for op in ops if op not in model["operations"]]
    if unknown:
        sys.exit(f"unknown operations for {service}: {', '.join(unknown)}")
    keep = ops or sorted(model["operations"])
    seen = set()
    operations = {}
    for name in keep:
        op = model["operations"][name]
        operations[name] = op
        for part in ("input", "output"):
            if part in op:
                reach(model["shapes"], op[part]["shape"], seen)
        for err in op.get("errors", []):
            reach(model["shapes"], err["shape"], seen)
    trimmed = {
        "metadata": model["metadata"],
        "operations": strip(operations),
        "shapes": strip({k: model["shapes"][k] for k in sorted(seen)}),
    }
    with open(out, "w") as f:
        json.dump(trimmed, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
