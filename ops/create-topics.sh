#!/bin/sh
# Creates the platform's topics, or brings the settings of existing ones up to date. Run by the
# one-shot kafka-topics job of docker-compose.yml (in the Apache Kafka image) before any
# service starts; the services also create missing topics at start-up, with the same
# retention and compaction (hackathon_shared.service_app.topic_configs), but only this job
# brings an existing topic's settings up to date. Reads:
#   BOOTSTRAP_SERVER        e.g. kafka:9092
#   TOPIC_PREFIX            prefix of every name (default empty)
#   TOPIC_PARTITIONS        partitions of a new topic (default 3); never changed on an
#                           existing topic, as that would move keys to other partitions
#   TOPIC_REPLICATION_FACTOR  (default 1: one broker)
#   EVENT_TOPICS            event topics, kept forever, as are their dead-letter topics
#   COMPACTED_TOPICS        topics keeping the latest record per key (contact details)
#   COMPACTED_DLQ_RETENTION_MS  how long the dead-letter topic of a compacted topic keeps
#                           messages (they may hold personal data; default 7 days)
set -eu

bin=/opt/kafka/bin
prefix="${TOPIC_PREFIX:-}"
partitions="${TOPIC_PARTITIONS:-3}"
replication="${TOPIC_REPLICATION_FACTOR:-1}"
bootstrap="${BOOTSTRAP_SERVER:?set BOOTSTRAP_SERVER}"

topic() {  # name, configs (comma-separated key=value)
  topic_name="$prefix$1"
  topic_configs="$2"
  if "$bin/kafka-topics.sh" --bootstrap-server "$bootstrap" --describe --topic "$topic_name" \
      >/dev/null 2>&1; then
    "$bin/kafka-configs.sh" --bootstrap-server "$bootstrap" --alter --entity-type topics \
      --entity-name "$topic_name" --add-config "$topic_configs" >/dev/null
    echo "kafka-topics: $topic_name exists; configs set: $topic_configs"
  else
    set -- --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$topic_name" \
      --partitions "$partitions" --replication-factor "$replication"
    old_ifs="$IFS"; IFS=,
    for config in $topic_configs; do set -- "$@" --config "$config"; done
    IFS="$old_ifs"
    "$bin/kafka-topics.sh" "$@" >/dev/null
    echo "kafka-topics: $topic_name created ($partitions partitions): $topic_configs"
  fi
}

forever="retention.ms=-1,retention.bytes=-1"
for name in ${EVENT_TOPICS:?set EVENT_TOPICS}; do
  topic "$name" "cleanup.policy=delete,$forever"
  topic "$name.dlq" "cleanup.policy=delete,$forever"
done
for name in ${COMPACTED_TOPICS:-}; do
  topic "$name" "cleanup.policy=compact,$forever"
  topic "$name.dlq" "cleanup.policy=delete,retention.ms=${COMPACTED_DLQ_RETENTION_MS:-604800000}"
done
