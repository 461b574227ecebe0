"""The AWS backend: S3 objects, a DynamoDB index, SSM Parameter Store config, SQS queues."""
