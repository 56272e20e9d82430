# dpemu in a container: the same install as the README's (npm ci, which
# builds the TAP addon from source), then `dpemu run`. Not built here (no
# Docker engine on the machines this project is developed on).
#
#   docker build -t dpemu .
#   docker run --rm -it --cap-add NET_ADMIN --device /dev/net/tun dpemu
#       TAPs only (VMs or namespaces plugged in by you, in the container's network namespace)
#   docker run --rm -it --cap-add NET_ADMIN --cap-add SYS_ADMIN --device /dev/net/tun dpemu run --lab configs/lab-dvr-snat.yaml
#       with the lab hosts (`ip netns add` needs SYS_ADMIN to mount /run/netns)
FROM node:20-bookworm

# ip (TAP setup, lab hosts), sysctl (lab hosts), ping/traceroute/tcpdump (using the lab);
# a C++ toolchain and python3 for node-gyp.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 procps iputils-ping traceroute tcpdump build-essential python3 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/dpemu
COPY package.json package-lock.json ./
# The addon from source, never a downloaded prebuilt binary; Node's headers from the image.
ENV npm_config_build_from_source=true npm_config_nodedir=/usr/local
RUN npm ci
COPY tsconfig.json tsconfig.run.json ./
COPY bin ./bin
COPY scripts ./scripts
COPY src ./src
COPY workers ./workers
COPY configs ./configs
# dpemu runs tsc's build (bin/dpemu.js would otherwise compile it at first start).
RUN node scripts/build-dist.mjs

ENTRYPOINT ["node", "bin/dpemu.js"]
CMD ["run", "configs/lab-dvr-snat.yaml"]
