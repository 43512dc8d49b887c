/** Write grafana/dashboards/*.json from grafana/dashboards.ts (npm run dashboards). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DASHBOARDS } from './dashboards.ts';

for (const [file, build] of Object.entries(DASHBOARDS)) {
  writeFileSync(join(import.meta.dirname, 'dashboards', file), `${JSON.stringify(build(), null, 2)}\n`);
  console.log(`wrote grafana/dashboards/${file}`);
}
