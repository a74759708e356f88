"""The shapes of GeoReport v2 documents (shared/domain/OPEN311.md §2), checked strictly:
every required field present, no foreign field, ids and codes as strings, datetimes with
an offset. Used on both the XML and the JSON form of every resource."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

SERVICE = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
}
# agency_responsible is optional in the spec; ours is there only with CITYOPS_OPEN311_SHOW_DEPARTMENT.
REQUEST_OPTIONAL = {"extended_attributes", "agency_responsible"}
POSTED = {"service_request_id", "service_notice", "account_id"}
TOKEN = {"service_request_id", "token"}
DISCOVERY = {"changeset", "contact", "key_service", "endpoints"}
ENDPOINT = {"specification", "url", "changeset", "type", "formats"}
DEFINITION = {"service_code", "attributes"}
ATTRIBUTE = {"variable", "code", "datatype", "required", "datatype_description", "order", "description"}
DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
ERROR = {"code", "description"}

LISTS = {"services": ("service", SERVICE), "service_requests": ("request", None), "errors": ("error", ERROR)}


def _fields(kind: str, item: dict, expected: set[str], optional: set[str] = frozenset()) -> None:
    keys = set(item)
    assert expected <= keys, f"{kind}: missing {sorted(expected - keys)}"
    assert keys <= expected | optional, f"{kind}: foreign fields {sorted(keys - expected - optional)}"


def _request(item: dict, *, xml: bool) -> None:
    if set(item) <= TOKEN | {"service_notice", "account_id"} and "token" in item:
        _fields("token", item, TOKEN)
    elif "status" not in item:
        _fields("posted request", item, POSTED)
    else:
        _fields("request", item, REQUEST, REQUEST_OPTIONAL)
        assert item["status"] in ("open", "closed")
        for key in ("requested_datetime", "updated_datetime"):
            assert DATETIME.match(item[key]), (key, item[key])
        if item["expected_datetime"]:
            assert DATETIME.match(item["expected_datetime"])
        if not xml:
            for key in ("lat", "long"):
                assert item[key] is None or isinstance(item[key], int | float)
    assert isinstance(item["service_request_id"], str) and item["service_request_id"]


def check_json(root: str, text: str | bytes):
    """Parse and check a JSON document whose XML root would be `root`; returns the data."""
    data = json.loads(text)
    if root in LISTS:
        assert isinstance(data, list), f"{root} must be a JSON array"
        for item in data:
            check_item(root, item, xml=False)
    else:
        assert isinstance(data, dict), f"{root} must be a JSON object"
        check_item(root, data, xml=False)
    return data


def check_item(root: str, item: dict, *, xml: bool) -> None:
    if root == "services":
        _fields("service", item, SERVICE)
        assert isinstance(item["service_code"], str)
        assert item["metadata"] in ((True, False) if not xml else ("true", "false"))
        assert item["type"] in ("realtime", "batch", "blackbox")
    elif root == "service_requests":
        _request(item, xml=xml)
    elif root == "errors":
        _fields("error", item, ERROR)
        assert str(item["code"]).isdigit() and item["description"]
    elif root == "discovery":
        _fields("discovery", item, DISCOVERY)
        endpoints = item["endpoints"]
        assert endpoints and all(set(e) == ENDPOINT for e in endpoints)
        assert {"text/xml", "application/json"} <= set(endpoints[0]["formats"])
    elif root == "service_definition":
        _fields("service_definition", item, DEFINITION)
        assert isinstance(item["service_code"], str)
        orders = []
        for attribute in item["attributes"]:
            _fields("attribute", attribute, ATTRIBUTE, {"values"})
            assert attribute["datatype"] in DATATYPES
            orders.append(int(attribute["order"]))
            for value in attribute.get("values") or []:
                assert set(value) == {"key", "name"}
        assert len(orders) == len(set(orders)) and all(o > 0 for o in orders)
    else:
        raise AssertionError(f"unknown root {root}")


# ---------------------------------------------------------------- XML

_XML_LISTS = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute", "values": "value"}


def _element(node: ET.Element):
    children = list(node)
    if not children:
        return node.text or ""
    if node.tag in _XML_LISTS:
        assert all(c.tag == _XML_LISTS[node.tag] for c in children), f"<{node.tag}> holds foreign tags"
        return [_element(c) for c in children]
    out = {}
    for child in children:
        assert child.tag not in out, f"<{node.tag}> repeats <{child.tag}>"
        out[child.tag] = _element(child)
    return out


def check_xml(root: str, body: bytes):
    """Parse and check an XML document; returns it as dicts/lists (list items, or the object)."""
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>'), body[:60]
    tree = ET.fromstring(body)
    assert tree.tag == root, f"root <{tree.tag}>, expected <{root}>"
    assert "}" not in tree.tag, "no namespaces"
    if root in LISTS:
        item_tag = LISTS[root][0]
        items = []
        for child in tree:
            assert child.tag == item_tag, f"<{root}> holds <{child.tag}>"
            item = {c.tag: _element(c) for c in child}
            check_item(root, item, xml=True)
            items.append(item)
        return items
    data = {c.tag: _element(c) for c in tree}
    if root == "discovery":
        data["endpoints"] = data.get("endpoints") or []
    if root == "service_definition":
        data["attributes"] = data.get("attributes") or []
    check_item(root, data, xml=True)
    return data
