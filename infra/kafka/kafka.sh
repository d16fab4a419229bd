#!/usr/bin/env bash
# A real single-node Apache Kafka (KRaft: broker + controller in one JVM) on 127.0.0.1, without Docker.
#
#   infra/kafka/kafka.sh start    resolve the jars (first run: Maven Central), format the storage
#                                 once, start in the background, wait until the broker answers
#   infra/kafka/kafka.sh stop     stop it (SIGTERM, then SIGKILL after the wait)
#   infra/kafka/kafka.sh status   exit 0 when it answers, 1 otherwise
#
# Idempotent: `start` on a running broker does nothing. Used by `npm run infra:kafka` and `.ci/run`.
# A second, private broker (the restart test) only needs other ports and another data directory:
#   TIDELINE_KAFKA_PORT              client listener            (default 9092)
#   TIDELINE_KAFKA_CONTROLLER_PORT   KRaft controller listener  (default 9093)
#   TIDELINE_KAFKA_DATA_DIR          logs, config, pid and log file (default infra/kafka/data)
#   TIDELINE_KAFKA_WAIT_SECONDS      how long start/stop wait   (default 90)
#   TIDELINE_KAFKA_HEAP_OPTS         JVM heap                   (default -Xms256m -Xmx768m)
#   TIDELINE_KAFKA_VERSION           another Apache Kafka version than pom.xml's, e.g. 3.9.1
#   TIDELINE_KAFKA_EXTRA_PROPERTIES  a file of server.properties lines appended last (they win),
#                                    e.g. the SASL listener of a test broker
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
PORT="${TIDELINE_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${TIDELINE_KAFKA_CONTROLLER_PORT:-9093}"
DATA_DIR="${TIDELINE_KAFKA_DATA_DIR:-$HERE/data}"
WAIT_SECONDS="${TIDELINE_KAFKA_WAIT_SECONDS:-90}"
HEAP_OPTS="${TIDELINE_KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
VERSION="${TIDELINE_KAFKA_VERSION:-}"
EXTRA_PROPERTIES="${TIDELINE_KAFKA_EXTRA_PROPERTIES:-}"
LIBS="$HERE/dist/libs${VERSION:+-$VERSION}"
CONFIG="$DATA_DIR/server.properties"
LOG4J_CONFIG="$DATA_DIR/log4j2.properties"
PID_FILE="$DATA_DIR/kafka.pid"
LOG_FILE="$DATA_DIR/kafka.log"
CLUSTER_ID_FILE="$DATA_DIR/cluster.id"
# One fixed id per data directory; KRaft wants 22 characters of base64url (a UUID).
NODE_ID=1

log() { echo "[kafka:$PORT] $*"; }

answers() { node "$HERE/wait-ready.mjs" --port "$PORT" --timeout-ms "${1:-1500}" >/dev/null 2>&1; }

pid_alive() {
  [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

resolve_jars() {
  if [ -f "$LIBS/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { log "Maven (mvn) is needed to resolve the broker jars"; return 1; }
  log "resolving Apache Kafka jars with Maven into $LIBS"
  rm -rf "$LIBS"
  mvn -q -B -Dstyle.color=never -f "$HERE/pom.xml" ${VERSION:+-Dkafka.version=$VERSION} \
    dependency:copy-dependencies -DoutputDirectory="$LIBS"
  touch "$LIBS/.complete"
}

write_config() {
  mkdir -p "$DATA_DIR/logs"
  cat >"$CONFIG" <<EOF
# Written by infra/kafka/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=$NODE_ID
controller.quorum.voters=$NODE_ID@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR/logs
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Development/test sizes: small segments, quick group formation, short minimum session timeouts.
log.segment.bytes=1048576
log.retention.check.interval.ms=60000
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
group.consumer.min.session.timeout.ms=1000
group.consumer.min.heartbeat.interval.ms=500
num.network.threads=2
num.io.threads=4
EOF
  if [ -n "$EXTRA_PROPERTIES" ]; then cat "$EXTRA_PROPERTIES" >>"$CONFIG"; fi
  cat >"$LOG4J_CONFIG" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $LOG_FILE
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
EOF
}

format_once() {
  if [ -f "$DATA_DIR/logs/meta.properties" ]; then return 0; fi
  if [ ! -f "$CLUSTER_ID_FILE" ]; then
    java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid >"$CLUSTER_ID_FILE"
  fi
  log "formatting storage in $DATA_DIR/logs"
  java -Dlog4j2.configurationFile="$LOG4J_CONFIG" -cp "$LIBS/*" kafka.tools.StorageTool format \
    --config "$CONFIG" --cluster-id "$(cat "$CLUSTER_ID_FILE")" --ignore-formatted >/dev/null
}

start() {
  if answers; then
    log "already running"
    return 0
  fi
  if pid_alive; then
    log "process $(cat "$PID_FILE") is starting; waiting for it"
  else
    command -v java >/dev/null || { log "Java 17+ (java) is needed"; return 1; }
    command -v node >/dev/null || { log "Node.js (node) is needed for the readiness check"; return 1; }
    resolve_jars
    write_config
    format_once
    log "starting (log: $LOG_FILE)"
    # shellcheck disable=SC2086 # HEAP_OPTS holds several JVM flags
    nohup java $HEAP_OPTS -XX:+UseG1GC -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$LOG4J_CONFIG" -Dkafka.logs.dir="$DATA_DIR" \
      -cp "$LIBS/*" kafka.Kafka "$CONFIG" >>"$DATA_DIR/kafka.out" 2>&1 &
    echo $! >"$PID_FILE"
  fi
  if node "$HERE/wait-ready.mjs" --port "$PORT" --timeout-ms "$((WAIT_SECONDS * 1000))"; then
    log "ready on 127.0.0.1:$PORT"
    return 0
  fi
  log "did not answer within ${WAIT_SECONDS}s; last lines of $DATA_DIR/kafka.out and $LOG_FILE:"
  tail -n 20 "$DATA_DIR/kafka.out" "$LOG_FILE" 2>/dev/null || true
  return 1
}

stop() {
  if ! pid_alive; then
    log "not running"
    rm -f "$PID_FILE"
    return 0
  fi
  local pid i
  pid="$(cat "$PID_FILE")"
  log "stopping process $pid"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < WAIT_SECONDS * 4; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still alive after ${WAIT_SECONDS}s; killing"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE"
}

status() {
  if answers; then
    log "running${PID_FILE:+ (pid $(cat "$PID_FILE" 2>/dev/null || echo '?'))}"
    return 0
  fi
  log "not answering"
  return 1
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*)
  echo "usage: $0 start|stop|status" >&2
  exit 2
  ;;
esac
