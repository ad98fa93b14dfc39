"""Reads openapi.yaml the way YAML 1.1 tools do (PyYAML here; SnakeYAML inside
openapi-generator reads it alike: `on`, `no`, `y` and dates are not strings to them) and checks
that what they see is exactly the document the server serves as JSON.

    python3 scripts/yaml11_check.py openapi.yaml http://127.0.0.1:8080/openapi.json
"""
import json
import sys
import urllib.request

import yaml


def differences(seen, served, path="$"):
    """Where the two documents differ, as JSON paths."""
    if isinstance(served, dict) and isinstance(seen, dict):
        for key in sorted(set(seen) | set(served), key=str):
            if key not in served or key not in seen:
                yield f"{path}.{key}: {'only in the YAML' if key in seen else 'missing from the YAML'}"
            else:
                yield from differences(seen[key], served[key], f"{path}.{key}")
    elif isinstance(served, list) and isinstance(seen, list) and len(seen) == len(served):
        for i, (a, b) in enumerate(zip(seen, served)):
            yield from differences(a, b, f"{path}[{i}]")
    elif type(seen) is not type(served) or seen != served:
        yield f"{path}: YAML 1.1 reads {seen!r}, the server serves {served!r}"


def main():
    yaml_path, json_url = sys.argv[1], sys.argv[2]
    with open(yaml_path, encoding="utf-8") as f:
        seen = yaml.safe_load(f)
    with urllib.request.urlopen(json_url) as response:
        served = json.load(response)
    found = list(differences(seen, served))
    for line in found[:50]:
        print(line)
    if found:
        print(f"{yaml_path}: {len(found)} difference(s) for a YAML 1.1 reader")
        sys.exit(1)
    print(f"{yaml_path} reads the same as {json_url} with a YAML 1.1 reader (PyYAML {yaml.__version__})")


if __name__ == "__main__":
    main()
