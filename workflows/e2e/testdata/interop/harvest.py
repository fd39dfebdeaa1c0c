"""Harvests an OAI-PMH provider with an independent client (Sickle or
pyoai) and prints one JSON line per record: identifier, datestamp, sets,
deleted, and the title where the format has one."""
import json
import sys
from datetime import datetime


def sickle_harvest(base, prefix, since):
    from sickle import Sickle
    from sickle.oaiexceptions import NoRecordsMatch

    args = {"metadataPrefix": prefix, "ignore_deleted": False}
    if since:
        args["from"] = since
    try:
        for rec in Sickle(base, max_retries=0).ListRecords(**args):
            title = None
            if not rec.header.deleted:
                title = (rec.metadata.get("title") or [None])[0]
            yield rec.header.identifier, rec.header.datestamp, rec.header.setSpecs, rec.header.deleted, title
    except NoRecordsMatch:
        return


def pyoai_harvest(base, prefix, since):
    from oaipmh.client import Client
    from oaipmh.error import NoRecordsMatchError
    from oaipmh.metadata import MetadataRegistry, oai_dc_reader

    registry = MetadataRegistry()
    registry.registerReader("oai_dc", oai_dc_reader)
    client = Client(base, registry)
    client.updateGranularity()
    args = {"metadataPrefix": prefix}
    if since:
        args["from_"] = datetime.strptime(since, "%Y-%m-%dT%H:%M:%SZ")
    try:
        if prefix == "oai_dc":
            for header, metadata, _ in client.listRecords(**args):
                title = None
                if metadata is not None:
                    title = (metadata.getField("title") or [None])[0]
                yield header.identifier(), header.datestamp().strftime("%Y-%m-%dT%H:%M:%SZ"), header.setSpec(), header.isDeleted(), title
        else:
            # pyoai reads a format's records through a registered reader;
            # for others it lists identifiers.
            for header in client.listIdentifiers(**args):
                yield header.identifier(), header.datestamp().strftime("%Y-%m-%dT%H:%M:%SZ"), header.setSpec(), header.isDeleted(), None
    except NoRecordsMatchError:
        return


def main():
    client, base, prefix = sys.argv[1:4]
    since = sys.argv[4] if len(sys.argv) > 4 else ""
    harvest = {"sickle": sickle_harvest, "pyoai": pyoai_harvest}[client]
    for identifier, datestamp, sets, deleted, title in harvest(base, prefix, since):
        print(json.dumps({"identifier": identifier, "datestamp": datestamp, "sets": list(sets), "deleted": bool(deleted), "title": title}))


if __name__ == "__main__":
    main()
