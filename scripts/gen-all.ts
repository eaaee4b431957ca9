// Regenerates every generated observability file: the alert rules, the
// dashboard, and the deploy/observability objects that wrap them.
// Usage: npm run gen

import { writeRules } from '../alerts/generate.ts';
import { writeDashboard } from '../dashboards/generate.ts';
import { writeDeployObservability } from './gen-deploy-observability.ts';

for (const file of [writeRules(), writeDashboard(), ...writeDeployObservability()]) console.log(`wrote ${file}`);
