# The compose stack's demo producer: kcat and mosquitto_pub in a loop (docker/producer.sh).
FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends kcat mosquitto-clients gawk \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10002 producer
COPY docker/producer.sh /usr/local/bin/producer.sh
USER producer
ENTRYPOINT ["/usr/local/bin/producer.sh"]
