"""The CloudFormation subset infra/template.json uses: intrinsics, conditions, dependency order."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# Pseudo parameter AWS::NoValue removes the property that resolves to it, as in CloudFormation.
NO_VALUE: Any = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class TemplateError(Exception):
    """The template uses something this translator cannot evaluate."""


class Unresolvable(TemplateError):
    """A reference points at a resource that was skipped or failed."""

    def __init__(self, logical_id: str) -> None:
        super().__init__(f"depends on {logical_id}, which was not provisioned")
        self.logical_id = logical_id


@dataclass
class ResourceValues:
    """What a provisioned resource answers to `Ref` and `Fn::GetAtt`."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Resolver:
    """Evaluates intrinsics against parameters, conditions and already provisioned resources."""

    template: Mapping[str, Any]
    region: str
    account_id: str
    stack_name: str
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    resources: dict[str, ResourceValues] = field(default_factory=dict)

    def parameter(self, name: str) -> Any:
        if name in self.parameter_overrides:
            return self.parameter_overrides[name]
        declared = self.template.get("Parameters", {}).get(name)
        if declared is None:
            return None
        if "Default" not in declared:
            raise TemplateError(f"parameter {name} has no Default and no local override")
        return declared["Default"]

    def pseudo_parameter(self, name: str) -> Any:
        values = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local"),
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name not in values:
            raise TemplateError(f"unsupported pseudo parameter {name}")
        return values[name]

    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise TemplateError(f"unknown condition {name}")
        return bool(self.resolve(conditions[name]))

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo_parameter(name)
        if name in self.template.get("Parameters", {}) or name in self.parameter_overrides:
            return self.parameter(name)
        if name in self.resources:
            return self.resources[name].ref
        raise Unresolvable(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id not in self.resources:
            raise Unresolvable(logical_id)
        attributes = self.resources[logical_id].attributes
        if attribute not in attributes:
            raise TemplateError(f"{logical_id} has no attribute {attribute} locally")
        return attributes[attribute]

    def sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)

    def resolve(self, value: Any) -> Any:
        """`value` with every intrinsic evaluated; AWS::NoValue entries are dropped."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Condition":
                return self.condition(argument)
            if key.startswith("Fn::"):
                return self._function(key, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _function(self, name: str, argument: Any) -> Any:
        if name == "Fn::GetAtt":
            logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return self.get_att(logical_id, self.resolve(attribute))
        if name == "Fn::Sub":
            if isinstance(argument, str):
                return self.sub(argument, {})
            text, variables = argument
            return self.sub(text, self.resolve(variables))
        if name == "Fn::If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition) else when_false)
        if name == "Fn::Join":
            delimiter, items = argument
            return delimiter.join(str(item) for item in self.resolve(items))
        if name == "Fn::Select":
            index, items = self.resolve(argument)
            return items[int(index)]
        if name == "Fn::Split":
            delimiter, text = self.resolve(argument)
            return text.split(delimiter)
        if name == "Fn::Equals":
            left, right = self.resolve(argument)
            return left == right
        if name == "Fn::Not":
            (operand,) = self.resolve(argument)
            return not operand
        if name == "Fn::And":
            return all(self.resolve(argument))
        if name == "Fn::Or":
            return any(self.resolve(argument))
        raise TemplateError(f"unsupported intrinsic function {name}")


def as_text(value: Any) -> str:
    """A scalar as CloudFormation writes it into a string (booleans lowercase)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def references(value: Any) -> Iterator[str]:
    """Logical ids (and parameter names) that `value` refers to through Ref, GetAtt or Sub."""
    if isinstance(value, list):
        for item in value:
            yield from references(item)
    elif isinstance(value, dict):
        for key, argument in value.items():
            if key == "Ref" and isinstance(argument, str):
                yield argument
            elif key == "Fn::GetAtt":
                yield (argument.split(".", 1)[0] if isinstance(argument, str) else argument[0])
            elif key == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                for match in _SUB_VARIABLE.finditer(text):
                    if not match.group(1).startswith("!"):
                        yield match.group(1).split(".", 1)[0]
                if not isinstance(argument, str):
                    yield from references(argument[1])
            else:
                yield from references(argument)


def dependency_order(resources: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Logical ids so that each comes after what it references or DependsOn (template order otherwise)."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in ordered:
            return
        if logical_id in visiting:
            raise TemplateError(f"circular dependency through {logical_id}")
        visiting.add(logical_id)
        definition = resources[logical_id]
        depends_on = definition.get("DependsOn", [])
        if isinstance(depends_on, str):
            depends_on = [depends_on]
        for dependency in [*depends_on, *references(definition.get("Properties", {}))]:
            if dependency in resources and dependency != logical_id:
                visit(dependency)
        visiting.discard(logical_id)
        ordered.append(logical_id)

    for logical_id in resources:
        visit(logical_id)
    return ordered
