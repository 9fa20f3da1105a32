"""Creates clientwatch's DynamoDB table on the local emulator exactly as template.yaml declares it
(keys, secondary indexes, TTL), so that tests run against the same shape as production.

usage: create_table.py ENDPOINT_URL TABLE_NAME [TEMPLATE]
"""

import sys

import boto3
import yaml


class CloudFormationLoader(yaml.SafeLoader):
    """Reads a SAM template, keeping intrinsic functions (!Ref, !Sub, ...) as opaque values."""


CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def table_properties(template_path):
    with open(template_path, encoding="utf-8") as f:
        template = yaml.load(f, Loader=CloudFormationLoader)
    tables = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::DynamoDB::Table"
    ]
    if len(tables) != 1:
        sys.exit(f"{template_path}: expected one DynamoDB table, found {len(tables)}")
    return tables[0]


def main():
    endpoint, name = sys.argv[1], sys.argv[2]
    template = sys.argv[3] if len(sys.argv) > 3 else "template.yaml"
    props = table_properties(template)
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    client.create_table(
        TableName=name,
        BillingMode=props["BillingMode"],
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        GlobalSecondaryIndexes=props.get("GlobalSecondaryIndexes", []),
    )
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={
                "AttributeName": ttl["AttributeName"],
                "Enabled": ttl["Enabled"],
            },
        )


if __name__ == "__main__":
    main()
