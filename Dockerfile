# statusd's container image.
#
#   docker build -t statusd .
#   docker run --rm -p 8080:8080 statusd          # memory store, demo handler
#   docker compose up -d --build                  # two instances, Redis, nginx
#                                                 (needs REDIS_PASSWORD, API_TOKEN)
#
# BASE is the Debian bookworm image both stages start from
# (debian:bookworm-slim by default; `make test-container` builds this file
# on one it makes with debootstrap). The build stage compiles this checkout and runs the unit
# tests, so an image is never built from code that fails them; the
# runtime stage holds only the libraries statusd links and the binary.
#
# Configure the container with the environment (STATUSD_<KEY>, REDIS_URL,
# PORT, ...; see config/statusd.conf), not with command-line flags: the
# health check runs `statusd --probe`, which reads the same file and
# environment to find the port, but not the flags given to the server.
# docs/operations.md describes the deployment.

ARG BASE=debian:bookworm-slim

# ---- build ----
FROM ${BASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config \
        libmicrohttpd-dev libhiredis-dev libcjson-dev uuid-dev libcurl4-openssl-dev \
        libevent-dev \
        libcmocka-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# statusd and the unit tests only (ctest -N names them; test = target):
# the integration tests need a redis-server and real processes, and run
# in `make test` instead.
RUN cmake -S . -B /build -DBUILD_TESTING=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build /build -j "$(nproc)" --target statusd \
        $(cd /build && ctest -L unit -N | sed -n 's/^ *Test *#[0-9]*: //p') \
 && cd /build && ctest -L unit --output-on-failure -j "$(nproc)" \
 && install -D -m 0755 -s /build/statusd /out/statusd

# ---- runtime ----
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libmicrohttpd12 libhiredis0.14 libcjson1 libuuid1 libcurl4 libevent-core-2.1-7 \
        ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 statusd \
 && useradd --system --uid 10001 --gid statusd --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin statusd
COPY --from=build /out/statusd /usr/local/bin/statusd
# The documented defaults; statusd reads /etc/statusd/statusd.conf when
# there is no ./config/statusd.conf (the working directory is /).
COPY config/statusd.conf /etc/statusd/statusd.conf
WORKDIR /

# Docker stops a container with SIGTERM and kills it 10 s later: statusd
# gives running jobs 8 s to finish, then stops (on Redis they go back on
# the shared queue). With a longer stop timeout (docker stop -t,
# compose's stop_grace_period) raise this to about 2 s below it.
ENV STATUSD_DRAIN_TIMEOUT=8
STOPSIGNAL SIGTERM

# Numeric, so that runtimes checking for a non-root user (runAsNonRoot)
# can tell without reading /etc/passwd.
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["statusd", "--probe"]
# statusd is PID 1: it takes SIGTERM itself and drains.
ENTRYPOINT ["statusd"]
