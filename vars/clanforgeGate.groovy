// clanforgeGate: a shared-library step that runs clanforge-gate (wait, deploy or check) in its
// container, or with mode: 'native' the clanforge-gate command installed on the agent (sh on Unix,
// bat on Windows), records the JUnit report, archives the result file, fails the build unless the run
// succeeded, and returns the outcome: 'succeeded', 'failed', 'timed_out', 'error' or 'cancelled'.
// The whole reference is vars/clanforgeGate.txt (the step's help in Jenkins).
//
//   @Library('clanforge-gate@v0') _
//   clanforgeGate(updateId: env.UPDATE_ID, accountServiceId: '7890', credentialsId: 'clanforge-keys')
//
// Credentials never reach a command line. `docker.image(...).inside` passes every variable of the
// step's environment to `docker run -e` and to each `docker exec ... env NAME=value`, where the
// agent's process list shows them; a Username/Password or Secret text binding there would put the
// keys on those command lines. So the keys are bound only around a `writeFile` (through the agent
// channel, no process), into a folder of the workspace that only the agent's user can enter; the
// container gets CLANFORGE_*_FILE paths, and the folder is deleted when the step ends. The native
// mode passes the credentials the same way, through files: on Windows the folder's inherited
// access is removed (icacls) before the keys are written, so only the agent's user can read them.

import groovy.transform.Field

// The version of this library; its default image is the one released with it.
@Field static final String VERSION = '0.2.0'
@Field static final String IMAGE_REPOSITORY = 'ghcr.io/clanforge/clanforge-gate'

@Field static final Map<Integer, String> OUTCOMES = [
    0  : 'succeeded',
    1  : 'failed',
    2  : 'timed_out',
    3  : 'error',
    130: 'cancelled',
    143: 'cancelled',
]

@Field static final List<String> COMMANDS = ['wait', 'deploy', 'check']
@Field static final List<String> MODES = ['container', 'native']

// Every setting of the gate: option -> [its environment variable, the CLI's default (null: none)].
// tests/test_platform_settings.py checks this table against the CLI's option table.
@Field static final Map<String, List> SETTINGS = [
    updateId         : ['CLANFORGE_UPDATE_ID', null],
    job              : ['CLANFORGE_JOB', 'imageupdate'],
    failFast         : ['CLANFORGE_FAIL_FAST', false],
    accountServiceId : ['CLANFORGE_ACCOUNT_SERVICE_ID', null],
    apiUrl           : ['CLANFORGE_API_URL', 'https://api.multiplay.co.uk'],
    timeout          : ['CLANFORGE_TIMEOUT', '30m'],
    pollInterval     : ['CLANFORGE_POLL_INTERVAL', '10s'],
    minPollInterval  : ['CLANFORGE_MIN_POLL_INTERVAL', '1s'],
    requestTimeout   : ['CLANFORGE_REQUEST_TIMEOUT', '10s'],
    config           : ['CLANFORGE_CONFIG', null],
    resultFile       : ['CLANFORGE_RESULT_FILE', 'clanforge-gate-result.json'],
    junitFile        : ['CLANFORGE_JUNIT_FILE', 'clanforge-gate-junit.xml'],
    dotenvFile       : ['CLANFORGE_DOTENV_FILE', null],
    imageId          : ['CLANFORGE_IMAGE_ID', null],
    machineId        : ['CLANFORGE_MACHINE_ID', null],
    desc             : ['CLANFORGE_DESC', null],
    url              : ['CLANFORGE_URL', null],
    restart          : ['CLANFORGE_RESTART', null],
    gameBuild        : ['CLANFORGE_GAME_BUILD', null],
    full             : ['CLANFORGE_FULL', false],
    force            : ['CLANFORGE_FORCE', false],
    maxFailedMachines: ['CLANFORGE_MAX_FAILED_MACHINES', 0],
    diffId           : ['CLANFORGE_DIFF_ID', null],
    versionId        : ['CLANFORGE_VERSION_ID', null],
    skipUpdate       : ['CLANFORGE_SKIP_UPDATE', false],
    skipDiff         : ['CLANFORGE_SKIP_DIFF', false],
    skipVersion      : ['CLANFORGE_SKIP_VERSION', false],
    skipInstall      : ['CLANFORGE_SKIP_INSTALL', false],
    installAt        : ['CLANFORGE_INSTALL_AT', 'now'],
    disableTimeout   : ['CLANFORGE_DISABLE_TIMEOUT', null],
    disablePercentage: ['CLANFORGE_DISABLE_PERCENTAGE', null],
    gameId           : ['CLANFORGE_GAME_ID', null],
    onEmptyDiff      : ['CLANFORGE_ON_EMPTY_DIFF', 'reject'],
    onLocked         : ['CLANFORGE_ON_LOCKED', 'fail'],
    rejectOnAbort    : ['CLANFORGE_REJECT_ON_ABORT', false],
]

// Options of the step itself: option -> default.
@Field static final Map<String, Object> STEP_OPTIONS = [
    command               : 'wait',
    mode                  : 'container', // or 'native': clanforge-gate on the agent's PATH
    image                 : null, // IMAGE_REPOSITORY:VERSION
    failBuild             : true,
    credentialsId         : null, // Username with password: access key / secret key
    tokenCredentialsId    : null, // Secret text: Bearer token
    accessKeyCredentialsId: null, // Secret file: access key
    secretKeyCredentialsId: null, // Secret file: secret key
    tokenFileCredentialsId: null, // Secret file: Bearer token
]

// The report files the step always asks for, so it can record and archive them.
@Field static final List<String> ALWAYS_SET = ['resultFile', 'junitFile']

String call(Map options = [:]) {
    List<String> unknown = options.keySet().findAll { !SETTINGS.containsKey(it) && !STEP_OPTIONS.containsKey(it) }.collect { it as String }.sort()
    if (unknown) {
        List<String> known = ((SETTINGS.keySet() + STEP_OPTIONS.keySet()) as List<String>).sort()
        error("clanforgeGate: unknown option${unknown.size() > 1 ? 's' : ''} ${unknown.join(', ')}; known options: ${known.join(', ')}")
    }
    Map settings = [:]
    STEP_OPTIONS.each { String name, Object value -> settings[name] = options.containsKey(name) ? options[name] : value }
    SETTINGS.each { String name, List spec -> settings[name] = options.containsKey(name) ? options[name] : null }
    ALWAYS_SET.each { String name -> settings[name] = settings[name] ?: SETTINGS[name][1] }
    settings.image = settings.image ?: "${IMAGE_REPOSITORY}:${VERSION}".toString()

    String command = settings.command as String
    if (!(command in COMMANDS)) {
        error("clanforgeGate: command '${command}' is not one of ${COMMANDS.join(', ')}")
    }
    String mode = settings.mode as String
    if (!(mode in MODES)) {
        error("clanforgeGate: mode '${mode}' is not one of ${MODES.join(', ')}")
    }
    if (mode == 'native' && options.containsKey('image')) {
        error("clanforgeGate: image is for mode: 'container'; mode: 'native' runs the clanforge-gate installed on the agent")
    }
    boolean unix = mode == 'container' || isUnix()
    Map credentials = credentialKind(settings)

    List<String> environment = ["CLANFORGE_GATE_COMMAND=${command}".toString()]
    SETTINGS.each { String name, List spec ->
        Object value = settings[name]
        if (value != null && value != '') {
            environment << "${spec[0]}=${value}".toString()
        }
    }

    int status = -1
    try {
        withSecretFiles(credentials, unix) { List<String> fileVariables ->
            withEnv(environment + fileVariables) {
                if (mode == 'native') {
                    status = runNative(unix)
                } else {
                    docker.image(settings.image as String).inside('--entrypoint=') {
                        // Single quotes: the shell, not Groovy, expands anything here.
                        status = sh(script: 'clanforge-gate "$CLANFORGE_GATE_COMMAND"', returnStatus: true)
                    }
                }
            }
        }
    } finally {
        // Whatever happened, the reports are kept; they decide nothing about the build result.
        junit(testResults: settings.junitFile as String, allowEmptyResults: true, skipMarkingBuildUnstable: true)
        archiveArtifacts(artifacts: settings.resultFile as String, allowEmptyArchive: true)
    }

    String outcome = OUTCOMES.get(status, 'error')
    if (settings.failBuild) {
        String what = "clanforge-gate ${command}"
        if (outcome == 'timed_out') {
            unstable("${what}: timed out (exit code 2); what it waited for may still be running on Clanforge; see the log above and ${settings.resultFile}")
        } else if (outcome != 'succeeded') {
            error("${what}: ${outcome} (exit code ${status}); see the log above and ${settings.resultFile}")
        }
    }
    return outcome
}

// The clanforge-gate command of the agent (pipx install clanforge-gate), with its exit code.
// The command is one of COMMANDS, passed through the environment like everything else.
private int runNative(boolean unix) {
    if (unix) {
        return sh(script: 'clanforge-gate "$CLANFORGE_GATE_COMMAND"', returnStatus: true)
    }
    return bat(script: '@clanforge-gate %CLANFORGE_GATE_COMMAND%', returnStatus: true)
}

// Which credentials were given: exactly one kind.
private Map credentialKind(Map settings) {
    List<Map> kinds = []
    if (settings.credentialsId) {
        kinds << [kind: 'usernamePassword', id: settings.credentialsId]
    }
    if (settings.tokenCredentialsId) {
        kinds << [kind: 'string', id: settings.tokenCredentialsId]
    }
    if (settings.tokenFileCredentialsId) {
        kinds << [kind: 'tokenFile', id: settings.tokenFileCredentialsId]
    }
    if (settings.accessKeyCredentialsId || settings.secretKeyCredentialsId) {
        if (!(settings.accessKeyCredentialsId && settings.secretKeyCredentialsId)) {
            error('clanforgeGate: accessKeyCredentialsId and secretKeyCredentialsId go together (two Secret file credentials)')
        }
        kinds << [kind: 'keyFiles', access: settings.accessKeyCredentialsId, secret: settings.secretKeyCredentialsId]
    }
    if (kinds.size() != 1) {
        error("clanforgeGate: give one kind of credentials: credentialsId (Username with password: access key and secret key), " +
            "tokenCredentialsId (Secret text), or Secret files (accessKeyCredentialsId and secretKeyCredentialsId, or tokenFileCredentialsId)" +
            (kinds ? "; ${kinds.size()} were given" : ''))
    }
    return kinds[0]
}

// Runs body with the CLANFORGE_*_FILE variables that name the credentials' files, never their values.
private void withSecretFiles(Map credentials, boolean unix, Closure body) {
    if (credentials.kind == 'keyFiles') {
        withCredentials([
            file(credentialsId: credentials.access as String, variable: 'CLANFORGE_ACCESS_KEY_FILE'),
            file(credentialsId: credentials.secret as String, variable: 'CLANFORGE_SECRET_KEY_FILE'),
        ]) {
            body([])
        }
        return
    }
    if (credentials.kind == 'tokenFile') {
        withCredentials([file(credentialsId: credentials.id as String, variable: 'CLANFORGE_TOKEN_FILE')]) {
            body([])
        }
        return
    }
    // Username/Password and Secret text: into files of a folder only the agent's user can enter.
    String folder = ".clanforge-gate-secrets-${UUID.randomUUID()}"
    String base = pwd()
    String sep = unix ? '/' : '\\'
    try {
        withEnv(["CLANFORGE_GATE_SECRETS=${folder}".toString()]) {
            if (unix) {
                sh(script: 'umask 077 && mkdir "$CLANFORGE_GATE_SECRETS"', label: 'clanforge-gate: a private folder for the credentials')
            } else {
                // No inherited access; the agent's user alone, and what is made inside inherits that.
                bat(script: '@mkdir "%CLANFORGE_GATE_SECRETS%" && icacls "%CLANFORGE_GATE_SECRETS%" /inheritance:r /grant:r "%USERNAME%:(OI)(CI)F" >NUL',
                    label: 'clanforge-gate: a private folder for the credentials')
            }
        }
        List<String> fileVariables = []
        if (credentials.kind == 'usernamePassword') {
            withCredentials([usernamePassword(credentialsId: credentials.id as String,
                                              usernameVariable: 'CLANFORGE_GATE_USERNAME', passwordVariable: 'CLANFORGE_GATE_PASSWORD')]) {
                writeFile(file: "${folder}/access-key", text: env.CLANFORGE_GATE_USERNAME as String)
                writeFile(file: "${folder}/secret-key", text: env.CLANFORGE_GATE_PASSWORD as String)
            }
            fileVariables << "CLANFORGE_ACCESS_KEY_FILE=${base}${sep}${folder}${sep}access-key".toString()
            fileVariables << "CLANFORGE_SECRET_KEY_FILE=${base}${sep}${folder}${sep}secret-key".toString()
        } else {
            withCredentials([string(credentialsId: credentials.id as String, variable: 'CLANFORGE_GATE_TOKEN')]) {
                writeFile(file: "${folder}/token", text: env.CLANFORGE_GATE_TOKEN as String)
            }
            fileVariables << "CLANFORGE_TOKEN_FILE=${base}${sep}${folder}${sep}token".toString()
        }
        if (unix) {
            withEnv(["CLANFORGE_GATE_SECRETS=${folder}".toString()]) {
                sh(script: 'chmod 600 "$CLANFORGE_GATE_SECRETS"/*', label: 'clanforge-gate: credentials readable by the agent user only')
            }
        }
        body(fileVariables)
    } finally {
        dir(folder) {
            deleteDir()
        }
    }
}
