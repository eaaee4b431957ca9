// Regenerates every generated file: the alert rules, the dashboard, the
// deploy/observability objects that wrap them, the flag reference, the
// dependency graph in docs/architecture.md and the Helm chart's generated
// parts (charts/routewarden).
// Usage: npm run gen

import { writeRules } from '../alerts/generate.ts';
import { writeDashboard } from '../dashboards/generate.ts';
import { writeDeployObservability } from './gen-deploy-observability.ts';
import { writeConfigDoc } from './gen-config-doc.ts';
import { writeGraph } from './gen-graph.ts';
import { writeChart } from './gen-chart.ts';

for (const file of [writeRules(), writeDashboard(), ...writeDeployObservability(), writeConfigDoc(), await writeGraph(), ...writeChart()])
  console.log(`wrote ${file}`);
