// Supply chain: fails when a production dependency has a high or critical
// advisory. If the registry's advisory service cannot be reached (some
// mirrors do not offer it), it says so loudly and does not fail: that is not
// a finding, and the lock file still pins every version.
import { spawnSync } from 'node:child_process';

const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8' });
let report;
try {
  report = JSON.parse(run.stdout);
} catch {
  console.error(`npm audit gave no report:\n${run.stderr}`);
  process.exit(1);
}
if (report.error) {
  console.warn(
    `WARNING: npm audit could not reach the advisory database (${report.error.summary || report.message || report.error.code}); dependencies not checked`,
  );
  process.exit(0);
}
const counts = report.metadata?.vulnerabilities ?? {};
const serious = (counts.high ?? 0) + (counts.critical ?? 0);
console.log(`npm audit (production dependencies): ${JSON.stringify(counts)}`);
if (serious > 0) {
  for (const [name, finding] of Object.entries(report.vulnerabilities ?? {})) {
    if (['high', 'critical'].includes(finding.severity)) console.error(`${finding.severity}: ${name} ${finding.range}`);
  }
  process.exit(1);
}
