#!/usr/bin/env python3
"""Convert an Argo Rollouts CustomResourceDefinition (YAML) into the strict JSON Schema
kujira-gen vendors under schemas/argo-rollouts/ (see schemas/LICENSE-NOTICE.md).

    tools/crd_to_strict_schema.py CRD.yaml FILE-NAME TITLE [VERSION] > schema.json

The version VERSION (default `v1alpha1`) of the CRD's openAPIV3Schema becomes a draft-07
schema:
- `spec` and `status` are the CRD's, with `additionalProperties: false` added to every
  object that has `properties`, no `additionalProperties` and no
  `x-kubernetes-preserve-unknown-fields` (the API server prunes such unknown fields
  silently, which is why a template writing them is worth reporting);
- lists marked `x-kubernetes-list-type: set` get `uniqueItems: true`;
- a `pattern` with Go's inline flags (`(?i)`), which JSON Schema's ECMA-262 regexes
  lack, is dropped;
- `apiVersion` and `kind` are pinned; `metadata` is the subset of ObjectMeta templates
  write. Needs PyYAML. Running it on rollout-crd.yaml of v1.9.1 reproduces
  schemas/argo-rollouts/rollout.strict.schema.json byte for byte.
"""
import json
import sys

import yaml


def strict(node):
    if isinstance(node, list):
        return [strict(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: strict(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = strict(value)
        elif key in ("anyOf", "allOf", "oneOf"):
            out[key] = strict(value)
        elif key == "pattern" and "(?" in value:
            # Go's inline flags (`(?i)`) are not ECMA-262, the regex dialect of JSON
            # Schema: such a pattern is dropped (the Argo CRDs have none; the
            # PrometheusRule CRD's partial_response_strategy, a Thanos field, has one).
            continue
        else:
            out[key] = value
    if node.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    if (
        "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


METADATA = {
    "type": "object",
    "description": "Subset of ObjectMeta relevant to manifests we generate (apiserver validates the rest).",
    "properties": {
        "name": {"type": "string"},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def main():
    crd_path, file_name, title = sys.argv[1], sys.argv[2], sys.argv[3]
    # The CRD's version to convert: v1alpha1 for Argo Rollouts, v1 for the monitoring CRDs
    # (PrometheusRule, GMP Rules).
    version_name = sys.argv[4] if len(sys.argv) > 4 else "v1alpha1"
    with open(crd_path, encoding="utf-8") as f:
        crd = yaml.safe_load(f)
    version = next(v for v in crd["spec"]["versions"] if v["name"] == version_name)
    root = version["schema"]["openAPIV3Schema"]
    kind = crd["spec"]["names"]["kind"]
    properties = {
        "apiVersion": {"type": "string", "enum": [crd["spec"]["group"] + "/" + version_name]},
        "kind": {"type": "string", "enum": [kind]},
        "metadata": METADATA,
    }
    for name in ("spec", "status"):
        if name in root["properties"]:
            properties[name] = strict(root["properties"][name])
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://kujira-gen.invalid/schemas/%s/%s_%s.strict.json" % (crd["spec"]["group"], kind.lower(), version_name),
        "title": title,
        "x-generated-from": file_name,
        "properties": properties,
        "required": ["apiVersion", "kind", "metadata"] + [r for r in root.get("required", []) if r not in ("apiVersion", "kind", "metadata")],
        "type": "object",
        "additionalProperties": False,
    }
    json.dump(schema, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
