// Node 20 is supported (engines); the SDK's notice about its future minimum is noise in a CLI.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('./main.js');
process.exitCode = await main(process.argv);
