# One image for every service; the compose file picks the entry point.
# Stage 1 compiles the services to plain JavaScript (.build/, scripts/build.mjs) with the dev dependencies.
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY services ./services
COPY scripts ./scripts
RUN node scripts/build.mjs

FROM node:20.20.2-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json .npmrc ./
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
COPY tsconfig.json model_router_rules.yml ./
COPY conf ./conf
COPY models ./models
COPY services ./services
COPY scripts ./scripts
COPY --from=build /app/.build ./.build
# The kill-switch audit file's folder and the Redis users' folder (named volumes are created from them, owner included).
RUN mkdir -p /app/state /app/redis-acl && chown node:node /app/state /app/redis-acl
USER node
# SERVICE = feed | strategist | risk-harmoniser | executor | web. The services run compiled (no TypeScript
# loader: less memory, faster start); the tools in scripts/ (redis-users, kill) still run through tsx.
ENV SERVICE=web
CMD ["sh", "-c", "exec node .build/services/${SERVICE}/main.js"]
