package box

// RunWatchdog is runWatchdog, for the external tests.
var RunWatchdog = runWatchdog
