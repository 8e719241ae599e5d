// Runs the fauxqs SQS emulator on a loopback address. Started by
// `hack/sqs/sqs.sh fauxqs PORT`, which passes the node_modules directory
// that `hack/sqs/sqs.sh install` filled:
//
//   node hack/sqs/fauxqs.mjs <node_modules> <port>
//
// fauxqs's own CLI (dist/cli.js) listens on 0.0.0.0 with request logging
// always on; this launcher uses its buildApp instead, to listen on
// FAUXQS_BIND (default 127.0.0.1) and log only warnings (FAUXQS_LOG_LEVEL).
//
// Queue URLs: fauxqs's default is http://sqs.<region>.localhost:<port>/...,
// a name that does not resolve everywhere. Here they are built from the
// request's Host header instead, http://127.0.0.1:<port>/000000000000/<queue>,
// the form ElasticMQ uses too (FAUXQS_HOST restores the AWS-style form). Note
// fauxqs finds a queue by its exact QueueUrl string: use the URL that
// CreateQueue or GetQueueUrl returned, never one built by hand.
//
// The region comes from each request's SigV4 credential scope, else
// FAUXQS_DEFAULT_REGION (us-east-1); the account is 000000000000. All state
// is in memory: there is no data directory.
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { readFileSync } from "node:fs";

const [modules, portArg] = process.argv.slice(2);
if (!modules || !portArg) {
	console.error("usage: node fauxqs.mjs <node_modules dir> <port>");
	process.exit(2);
}
const port = Number.parseInt(portArg, 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
	console.error(`fauxqs.mjs: bad port ${JSON.stringify(portArg)}`);
	process.exit(2);
}
const pkgDir = join(modules, "fauxqs");
const { version } = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
const load = (...p) => import(pathToFileURL(join(pkgDir, "dist", ...p)).href);
const { buildApp } = await load("app.js");
const { SqsStore } = await load("sqs", "sqsStore.js");

const bind = process.env.FAUXQS_BIND || "127.0.0.1";
const sqsStore = new SqsStore();
sqsStore.host = process.env.FAUXQS_HOST || ""; // empty: use the Host header
const app = buildApp({
	logger: { level: process.env.FAUXQS_LOG_LEVEL || "warn" },
	defaultRegion: process.env.FAUXQS_DEFAULT_REGION || "us-east-1",
	stores: { sqsStore },
});

let closing = false;
for (const sig of ["SIGTERM", "SIGINT"]) {
	process.on(sig, () => {
		if (closing) process.exit(1);
		closing = true;
		app.close().then(() => process.exit(0), () => process.exit(1));
	});
}

try {
	const address = await app.listen({ port, host: bind });
	console.log(`fauxqs ${version} (node ${process.version}) listening on ${address}`);
} catch (err) {
	console.error(`fauxqs ${version}: cannot listen on ${bind}:${port}: ${err.message}`);
	process.exit(1);
}
