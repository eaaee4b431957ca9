// Regenerates every generated file: the alert rules, the dashboard, the
// deploy/observability objects that wrap them, and the flag reference.
// Usage: npm run gen

import { writeRules } from '../alerts/generate.ts';
import { writeDashboard } from '../dashboards/generate.ts';
import { writeDeployObservability } from './gen-deploy-observability.ts';
import { writeConfigDoc } from './gen-config-doc.ts';

for (const file of [writeRules(), writeDashboard(), ...writeDeployObservability(), writeConfigDoc()]) console.log(`wrote ${file}`);
