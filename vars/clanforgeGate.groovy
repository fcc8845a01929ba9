// clanforgeGate: a shared-library step that waits for a Clanforge image update in the clanforge-gate
// container and returns the outcome: 'succeeded', 'failed', 'timed_out', 'error' or 'cancelled'.
//
//   def outcome = clanforgeGate(
//       updateId: params.UPDATE_ID,
//       accountServiceId: '123456',
//       accessKeyCredentialsId: 'clanforge-access-key',   // "Secret file" credentials
//       secretKeyCredentialsId: 'clanforge-secret-key',
//   )
//   if (outcome != 'succeeded') { unstable("image update: ${outcome}") }
//
// Options:
//   updateId, accountServiceId           required
//   accessKeyCredentialsId + secretKeyCredentialsId, or tokenCredentialsId (Bearer)
//                                        ids of "Secret file" credentials; files, not secret text,
//                                        because `inside` passes environment values to `docker exec`
//                                        on its command line, and a file binding puts only a path there
//   apiUrl, timeout, pollInterval, requestTimeout
//                                        as CLANFORGE_API_URL, CLANFORGE_TIMEOUT, ... (e.g. '30m', '15s')
//   image                                default 'clanforge-gate:latest'
//   resultFile                           default 'clanforge-gate-result.json' (in the workspace)
//   failBuild                            default false; true: 'failed', 'error' and 'cancelled' fail the
//                                        build, 'timed_out' marks it unstable; the outcome is returned
//                                        when the build goes on

import groovy.transform.Field

@Field static final Map<Integer, String> OUTCOMES = [
    0  : 'succeeded',
    1  : 'failed',
    2  : 'timed_out',
    3  : 'error',
    130: 'cancelled',
    143: 'cancelled',
]

@Field static final Map<String, String> OPTIONAL_SETTINGS = [
    apiUrl        : 'CLANFORGE_API_URL',
    timeout       : 'CLANFORGE_TIMEOUT',
    pollInterval  : 'CLANFORGE_POLL_INTERVAL',
    requestTimeout: 'CLANFORGE_REQUEST_TIMEOUT',
]

String call(Map options = [:]) {
    Map settings = [image: 'clanforge-gate:latest', resultFile: 'clanforge-gate-result.json', failBuild: false] + options
    for (String name : ['updateId', 'accountServiceId']) {
        if (!settings[name]) {
            error("clanforgeGate: the '${name}' option is required")
        }
    }

    List<String> environment = [
        "CLANFORGE_UPDATE_ID=${settings.updateId}".toString(),
        "CLANFORGE_ACCOUNT_SERVICE_ID=${settings.accountServiceId}".toString(),
        "CLANFORGE_RESULT_FILE=${settings.resultFile}".toString(),
    ]
    OPTIONAL_SETTINGS.each { String option, String variable ->
        if (settings[option]) {
            environment << "${variable}=${settings[option]}".toString()
        }
    }

    int status = -1
    withEnv(environment) {
        withCredentials(credentialBindings(settings)) {
            docker.image(settings.image as String).inside('--entrypoint=') {
                // Single quotes: the shell, not Groovy, expands anything here.
                status = sh(script: 'clanforge-gate', returnStatus: true)
            }
        }
    }

    String outcome = OUTCOMES.get(status, 'error')
    if (settings.failBuild) {
        if (outcome == 'timed_out') {
            unstable("clanforge-gate: update ${settings.updateId} timed out; it may still be running")
        } else if (outcome != 'succeeded') {
            error("clanforge-gate: update ${settings.updateId} ${outcome} (exit code ${status})")
        }
    }
    return outcome
}

private List credentialBindings(Map settings) {
    if (settings.tokenCredentialsId) {
        return [file(credentialsId: settings.tokenCredentialsId as String, variable: 'CLANFORGE_TOKEN_FILE')]
    }
    if (settings.accessKeyCredentialsId && settings.secretKeyCredentialsId) {
        return [
            file(credentialsId: settings.accessKeyCredentialsId as String, variable: 'CLANFORGE_ACCESS_KEY_FILE'),
            file(credentialsId: settings.secretKeyCredentialsId as String, variable: 'CLANFORGE_SECRET_KEY_FILE'),
        ]
    }
    error('clanforgeGate: give tokenCredentialsId, or both accessKeyCredentialsId and secretKeyCredentialsId')
    return []
}
