# What aws-xray-sdk-python 2.x's centralized sampling does against the
# daemon's TCP port (aws_xray_sdk/core/sampling/connector.py), with the
# botocore Debian ships: an UNSIGNED botocore xray client, region us-west-2,
# GetSamplingRules then GetSamplingTargets, and the connector's checks.
# (Debian's python3-aws-xray-sdk 0.95 has no centralized sampling at all.)
# Usage: sampling_check.py http://host:port ; prints a JSON report.
import json
import sys
import time

import botocore.session
from botocore import UNSIGNED
from botocore.client import Config

endpoint = sys.argv[1]
client = botocore.session.get_session().create_client(
    'xray', region_name='us-west-2', endpoint_url=endpoint,
    aws_access_key_id='', aws_secret_access_key='',
    config=Config(signature_version=UNSIGNED))


def is_rule_valid(record):
    # connector.py _is_rule_valid
    return record.get('Version', None) == 1 and \
        record.get('ResourceARN', None) == '*' and \
        record.get('ServiceType', None) and \
        not record.get('Attributes', None)


rules = []
for page in client.get_paginator('get_sampling_rules').paginate():
    for record in page['SamplingRuleRecords']:
        rule = record['SamplingRule']
        # connector.py _load_rules reads these unconditionally.
        for k in ('RuleName', 'Priority', 'FixedRate', 'ReservoirSize', 'Host',
                  'ServiceName', 'HTTPMethod', 'URLPath', 'ServiceType'):
            rule[k]
        rules.append({'name': rule['RuleName'], 'valid': bool(is_rule_valid(rule)),
                      'modified': record['ModifiedAt'].timestamp()})

now = int(time.time())
resp = client.get_sampling_targets(SamplingStatisticsDocuments=[{
    'RuleName': 'Default', 'ClientID': '82b27d30d576c9967c806b80',
    'RequestCount': 2, 'BorrowCount': 1, 'SampledCount': 1, 'Timestamp': now}])
targets = []
for doc in resp['SamplingTargetDocuments']:
    # connector.py fetch_sampling_target
    targets.append({'rule': doc['RuleName'], 'rate': doc['FixedRate'],
                    'quota': doc.get('ReservoirQuota', None),
                    'ttl': doc['ReservoirQuotaTTL'].timestamp() - now,
                    'interval': doc.get('Interval', None)})
print(json.dumps({'rules': rules, 'targets': targets,
                  'last_modification': resp['LastRuleModification'].timestamp(),
                  'unprocessed': resp['UnprocessedStatistics']}))
