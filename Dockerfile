# driftless: one small binary. Build: docker build -t driftless .
FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps scripts/install-deps
RUN scripts/install-deps && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -B /build -DCMAKE_BUILD_TYPE=Release -DDL_TESTS=OFF -DDL_WERROR=ON \
    && cmake --build /build -j"$(nproc)" \
    && strip /build/driftless

FROM debian:12-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libcurl4 \
       libgit2-1.5 libjansson4 libyaml-0-2 libssl3 libmicrohttpd12 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --create-home driftless
COPY --from=build /build/driftless /usr/local/bin/driftless
USER driftless
WORKDIR /home/driftless
ENTRYPOINT ["driftless"]
