// siteward fault "console-error": a page that logs an error and then throws.
console.error("siteward fault: console-error is switched on (checkout widget failed to load)");
throw new Error("siteward fault: uncaught exception in shop script");
