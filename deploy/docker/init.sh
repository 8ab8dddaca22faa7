#!/bin/sh
# One-shot initialisation for docker-compose.yml: create the Kafka topics (partition counts and
# retention from deploy/topics.py) and apply the ClickHouse migrations. Both commands are
# idempotent, so the service can run on every `docker-compose up`.
set -eu
gridflow topics
gridflow migrate
