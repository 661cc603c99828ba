#!/bin/sh
# Demo producer for docker compose: keyed JSON price updates to Kafka topic "prices" and
# temperature readings to MQTT sensors/<site>/<device>/temperature, a few times a second.
set -eu
KAFKA=${KAFKA:-kafka:9092}
MQTT_HOST=${MQTT_HOST:-mosquitto}
i=0
while :; do
  for sym in AAPL MSFT GOOG AMZN; do
    price=$(awk -v s="$i" -v n="$sym" 'BEGIN{srand(s+length(n)*7); printf "%.2f", 100+rand()*50}')
    printf '%s:{"symbol":"%s","last":%s,"ts":%s}\n' "$sym" "$sym" "$price" "$(date +%s%3N)"
  done | kcat -P -b "$KAFKA" -t prices -K: -q || echo "producer: kafka not ready" >&2
  for dev in dev1 dev2; do
    t=$(awk -v s="$i" 'BEGIN{srand(s); printf "%.1f", 18+rand()*6}')
    mosquitto_pub -h "$MQTT_HOST" -q 1 -t "sensors/site1/$dev/temperature" \
      -m "{\"celsius\":$t}" || echo "producer: mosquitto not ready" >&2
  done
  i=$((i + 1))
  sleep 0.5
done
