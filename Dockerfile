# Build: docker build -t checkin .   Run: see docker-compose.yml.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin checkin

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/checkin checkin && mkdir -p /var/lib/checkin \
    && chown checkin /var/lib/checkin
COPY --from=build /src/target/release/checkin /usr/local/bin/checkin
COPY config /etc/checkin/config
ENV CHECKIN_CONFIG_DIR=/etc/checkin/config CHECKIN_ENV=production
USER checkin
EXPOSE 8080
ENTRYPOINT ["checkin", "serve"]
