/** The entry point `npm run build` bundles into dist/systemd-heartbeat.cjs. */
import { main } from './cli.ts';

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  () => {
    process.exitCode = 1;
  },
);
