/** The NATS flags every command that talks to NATS takes, each with its NATS_* fallback (flags win). */
import { type Command, Option } from 'commander';

export function addNatsFlags(command: Command): void {
  const flag = (spec: string, what: string, env: string) =>
    command.addOption(new Option(spec, what).env(env));
  flag('--nats-token <token>', 'NATS auth token', 'NATS_TOKEN');
  flag('--nats-creds <file>', 'NATS creds file (user JWT and nkey seed)', 'NATS_CREDS');
  flag('--nats-nkey <file>', 'file holding a NATS user nkey seed (SU...)', 'NATS_NKEY');
  flag('--nats-tls-ca <file>', 'CA certificate(s) to verify the NATS server with', 'NATS_TLS_CA');
  flag('--nats-tls-cert <file>', 'client certificate for NATS TLS (with --nats-tls-key)', 'NATS_TLS_CERT');
  flag('--nats-tls-key <file>', 'private key of --nats-tls-cert', 'NATS_TLS_KEY');
  flag(
    '--nats-inbox-prefix <prefix>',
    'reply subjects of this process (default _INBOX_<command>), for NATS permissions',
    'NATS_INBOX_PREFIX',
  );
}
