"""S3 XML documents: the responses we write and the few request bodies we parse."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from frontend.s3 import errors

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def iso8601(time_ns: int) -> str:
    """S3's timestamp form in XML.

    >>> iso8601(1_700_000_000_123_000_000)
    '2023-11-14T22:13:20.123Z'
    """
    moment = datetime.datetime.fromtimestamp(time_ns / 1e9, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def document(root: ET.Element) -> bytes:
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return XML_DECLARATION + body


def element(parent: ET.Element, tag: str, text: str | int | bool | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = ("true" if text else "false") if isinstance(text, bool) else str(text)
    return child


def root(tag: str) -> ET.Element:
    return ET.Element(tag, xmlns=S3_NAMESPACE)


def error_document(code: str, message: str, request_id: str, fields: Mapping[str, str]) -> bytes:
    top = ET.Element("Error")
    element(top, "Code", code)
    element(top, "Message", message)
    for name, value in fields.items():
        element(top, name, value)
    element(top, "RequestId", request_id)
    return document(top)


def encode_key(key: str, encoding_type: str) -> str:
    """Keys in listings are URL-encoded when the client asked for encoding-type=url."""
    return quote(key, safe="/") if encoding_type == "url" else key


@dataclass(frozen=True, slots=True)
class ListedObject:
    key: str
    last_modified_ns: int
    etag: str
    size_bytes: int


def add_contents(parent: ET.Element, objects: Iterable[ListedObject], owner: str | None,
                 encoding_type: str) -> None:
    for listed in objects:
        contents = element(parent, "Contents")
        element(contents, "Key", encode_key(listed.key, encoding_type))
        element(contents, "LastModified", iso8601(listed.last_modified_ns))
        element(contents, "ETag", f'"{listed.etag}"')
        element(contents, "Size", listed.size_bytes)
        element(contents, "StorageClass", "STANDARD")
        if owner is not None:
            add_owner(contents, owner)


def add_owner(parent: ET.Element, owner: str) -> None:
    owner_element = element(parent, "Owner")
    element(owner_element, "ID", owner)
    element(owner_element, "DisplayName", owner)


def add_common_prefixes(parent: ET.Element, prefixes: Iterable[str], encoding_type: str) -> None:
    for prefix in prefixes:
        element(element(parent, "CommonPrefixes"), "Prefix", encode_key(prefix, encoding_type))


def parse(body: bytes) -> ET.Element:
    """Parse a request document, namespace stripped; MalformedXML for anything else."""
    try:
        top = ET.fromstring(body)
    except ET.ParseError as error:
        raise errors.MalformedXML() from error
    for node in top.iter():
        if isinstance(node.tag, str) and "}" in node.tag:
            node.tag = node.tag.split("}", 1)[1]
    return top


def parse_location_constraint(body: bytes) -> str:
    """The LocationConstraint of a CreateBucketConfiguration ("" when absent)."""
    if not body.strip():
        return ""
    top = parse(body)
    if top.tag != "CreateBucketConfiguration":
        raise errors.MalformedXML()
    return (top.findtext("LocationConstraint") or "").strip()


@dataclass(frozen=True, slots=True)
class DeleteRequest:
    keys: tuple[str, ...]
    quiet: bool


def parse_delete(body: bytes, keys_max: int) -> DeleteRequest:
    top = parse(body)
    if top.tag != "Delete":
        raise errors.MalformedXML()
    keys = []
    for obj in top.findall("Object"):
        key = obj.findtext("Key")
        if key is None:
            raise errors.MalformedXML()
        keys.append(key)
    if not keys or len(keys) > keys_max:
        raise errors.MalformedXML()
    return DeleteRequest(tuple(keys), (top.findtext("Quiet") or "").strip().lower() == "true")
