// The Jenkins step vars/clanforgeGate.groovy under plain Groovy, with the pipeline steps it calls
// stubbed: what it calls, with which arguments and in which environment, for each exit code of
// the gate and each kind of credentials. Run by scripts/check-groovy.sh:
//   groovy tests/jenkins/clanforgeGateTest.groovy vars/clanforgeGate.groovy
// Ends with a line 'N passed, M failed'; exits 1 if any failed.

class StepError extends RuntimeException {
    StepError(String message) { super(message) }
}

// What a fake pipeline saw, and what it answers.
class Pipeline {
    int exitCode = 0
    Closure onSh = null
    Map<String, String> env = [:]
    List<Map> calls = []
    List<Map> credentials = []
    String result = 'SUCCESS'
    boolean unix = true
    // Values the credential bindings hand out; none may reach a process' command line.
    static final Map<String, String> SECRETS = [
        access: 'AKIA-test-access-key', secret: 'test-secret-key-value', token: 'test-bearer-token']

    List<Map> named(String name) { calls.findAll { it.step == name } }

    Map one(String name) {
        List<Map> found = named(name)
        assert found.size() == 1: "expected one call of ${name}, got ${found.size()}: ${found}"
        return found[0]
    }

    List<String> order() { calls.collect { it.step as String } }
}

Script load(File file, Pipeline p) {
    Binding binding = new Binding()
    Closure withVariables = { Map<String, String> added, Closure body ->
        Map<String, String> saved = new LinkedHashMap<String, String>(p.env)
        p.env.putAll(added)
        try {
            return body()
        } finally {
            p.env.clear()
            p.env.putAll(saved)
        }
    }
    binding.setVariable('env', p.env)
    binding.setVariable('error', { String message ->
        p.calls << [step: 'error', message: message]
        p.result = 'FAILURE'
        throw new StepError(message)
    })
    binding.setVariable('unstable', { String message ->
        p.calls << [step: 'unstable', message: message]
        p.result = 'UNSTABLE'
    })
    binding.setVariable('withEnv', { List<String> vars, Closure body ->
        p.calls << [step: 'withEnv', vars: vars]
        withVariables(vars.collectEntries { String v -> int i = v.indexOf('='); [(v.substring(0, i)): v.substring(i + 1)] }, body)
    })
    binding.setVariable('usernamePassword', { Map a -> [kind: 'usernamePassword'] + a })
    binding.setVariable('string', { Map a -> [kind: 'string'] + a })
    binding.setVariable('file', { Map a -> [kind: 'file'] + a })
    binding.setVariable('withCredentials', { List<Map> bindings, Closure body ->
        p.calls << [step: 'withCredentials', bindings: bindings]
        p.credentials.addAll(bindings)
        Map<String, String> values = [:]
        bindings.each { Map b ->
            if (b.kind == 'usernamePassword') {
                values[b.usernameVariable as String] = Pipeline.SECRETS.access
                values[b.passwordVariable as String] = Pipeline.SECRETS.secret
            } else if (b.kind == 'string') {
                values[b.variable as String] = Pipeline.SECRETS.token
            } else {
                values[b.variable as String] = "/agent/secretFiles/${b.credentialsId}".toString()
            }
        }
        withVariables(values, body)
    })
    binding.setVariable('sh', { Map a ->
        assert p.unix: 'sh on a Windows agent'
        p.calls << [step: 'sh', script: a.script, returnStatus: a.returnStatus, env: new LinkedHashMap(p.env),
                    inside: p.calls.any { it.step == 'inside' && !it.closed }]
        if (p.onSh != null) {
            p.onSh(a)
        }
        return a.returnStatus ? p.exitCode : 0
    })
    binding.setVariable('isUnix', { ->
        p.calls << [step: 'isUnix']
        p.unix
    })
    binding.setVariable('bat', { Map a ->
        assert !p.unix: 'bat on a Unix agent'
        p.calls << [step: 'bat', script: a.script, returnStatus: a.returnStatus, env: new LinkedHashMap(p.env)]
        if (p.onSh != null) {
            p.onSh(a)
        }
        return a.returnStatus ? p.exitCode : 0
    })
    binding.setVariable('docker', [image: { String name ->
        [inside: { String args, Closure body ->
            // `inside` puts every variable of this environment on `docker run` and `docker exec` command lines.
            Map call = [step: 'inside', image: name, args: args, env: new LinkedHashMap(p.env), closed: false]
            p.calls << call
            try {
                body()
            } finally {
                call.closed = true
            }
        }]
    }])
    binding.setVariable('writeFile', { Map a -> p.calls << [step: 'writeFile', file: a.file, text: a.text] })
    binding.setVariable('pwd', { -> '/agent/workspace/job' })
    binding.setVariable('dir', { String path, Closure body ->
        p.calls << [step: 'dir', path: path]
        body()
    })
    binding.setVariable('deleteDir', { -> p.calls << [step: 'deleteDir'] })
    binding.setVariable('junit', { Map a -> p.calls << ([step: 'junit'] + a) })
    binding.setVariable('archiveArtifacts', { Map a -> p.calls << ([step: 'archiveArtifacts'] + a) })
    binding.setVariable('echo', { String message -> p.calls << [step: 'echo', message: message] })
    Script script = new GroovyShell(binding).parse(file)
    return script
}

// Runs the step; gives back [its return value, the error it raised or null].
List run(File file, Pipeline p, Map options) {
    Script step = load(file, p)
    try {
        return [step.invokeMethod('call', [options] as Object[]), null]
    } catch (StepError e) {
        return [null, e]
    }
}

File stepFile = new File(args ? args[0] : 'vars/clanforgeGate.groovy')
Map base = [updateId: '1001', accountServiceId: '7890', credentialsId: 'clanforge-keys']
Map<String, Closure> tests = [:]

void noSecretOnACommandLine(Pipeline p) {
    p.named('inside').each { Map call ->
        Pipeline.SECRETS.values().each { String secret ->
            assert !call.env.values().any { it.contains(secret) }: "a credential value is in the environment `inside` passes to docker: ${call.env.keySet()}"
        }
    }
    (p.named('sh') + p.named('bat')).each { Map call ->
        Pipeline.SECRETS.values().each { String secret ->
            assert !(call.script as String).contains(secret)
            // Natively, no credential is in the gate's environment either: only file paths.
            if (call.inside || call.returnStatus) {
                assert !call.env.values().any { it.contains(secret) }: 'a credential value is in the environment of a step inside the container'
            }
        }
    }
}

[0: 'succeeded', 1: 'failed', 2: 'timed_out', 3: 'error', 130: 'cancelled', 143: 'cancelled', 99: 'error'].each { int code, String outcome ->
    tests["exit code ${code}: outcome ${outcome}; the build is ${[succeeded: 'left alone', timed_out: 'unstable'].get(outcome, 'failed')}; reports recorded first"] = {
        Pipeline p = new Pipeline(exitCode: code)
        def (value, failure) = run(stepFile, p, base)
        Map gate = p.named('sh').find { it.returnStatus }
        assert gate.script == 'clanforge-gate "$CLANFORGE_GATE_COMMAND"'
        assert gate.inside
        assert gate.env.CLANFORGE_GATE_COMMAND == 'wait'
        assert gate.env.CLANFORGE_UPDATE_ID == '1001'
        assert gate.env.CLANFORGE_ACCOUNT_SERVICE_ID == '7890'
        assert gate.env.CLANFORGE_RESULT_FILE == 'clanforge-gate-result.json'
        assert gate.env.CLANFORGE_JUNIT_FILE == 'clanforge-gate-junit.xml'
        Map junit = p.one('junit')
        assert junit.testResults == 'clanforge-gate-junit.xml' && junit.allowEmptyResults && junit.skipMarkingBuildUnstable
        Map archive = p.one('archiveArtifacts')
        assert archive.artifacts == 'clanforge-gate-result.json' && archive.allowEmptyArchive
        List<String> order = p.order()
        if (outcome == 'succeeded') {
            assert value == 'succeeded' && failure == null
            assert !p.named('unstable') && !p.named('error') && p.result == 'SUCCESS'
        } else if (outcome == 'timed_out') {
            assert value == 'timed_out' && failure == null
            assert p.one('unstable').message.contains('timed out (exit code 2)')
            assert p.result == 'UNSTABLE' && !p.named('error')
            assert order.indexOf('junit') < order.indexOf('unstable')
        } else {
            assert value == null && failure != null
            assert failure.message.startsWith("clanforge-gate wait: ${outcome} (exit code ${code})")
            assert p.result == 'FAILURE'
            assert order.indexOf('archiveArtifacts') < order.indexOf('error')
        }
    }
    tests["exit code ${code} with failBuild: false: only returns ${outcome}"] = {
        Pipeline p = new Pipeline(exitCode: code)
        def (value, failure) = run(stepFile, p, base + [failBuild: false])
        assert value == outcome && failure == null
        assert !p.named('unstable') && !p.named('error') && p.result == 'SUCCESS'
        p.one('junit')
        p.one('archiveArtifacts')
    }
}

tests['the default image is the one released with this version of the library, run with its entrypoint off'] = {
    Pipeline p = new Pipeline()
    run(stepFile, p, base)
    Map inside = p.one('inside')
    String version = stepFile.text.find(/VERSION = '([^']+)'/) { all, v -> v }
    assert inside.image == "ghcr.io/clanforge/clanforge-gate:${version}"
    assert inside.args == '--entrypoint='
    Pipeline other = new Pipeline()
    run(stepFile, other, base + [image: 'registry.example/gate:dev'])
    assert other.one('inside').image == 'registry.example/gate:dev'
}

tests['an unknown option is refused, with the known ones listed, before anything runs'] = {
    Pipeline p = new Pipeline()
    def (value, failure) = run(stepFile, p, base + [timout: '45m'])
    assert failure.message.startsWith('clanforgeGate: unknown option timout; known options: ')
    assert failure.message.contains('timeout') && failure.message.contains('credentialsId') && failure.message.contains('maxFailedMachines')
    assert !p.named('sh') && !p.named('inside') && !p.named('withCredentials')
}

tests['Username with password: the keys go to files of a private folder, never into an environment docker sees'] = {
    Pipeline p = new Pipeline()
    def (value, failure) = run(stepFile, p, base)
    assert value == 'succeeded'
    Map binding = p.credentials.find { it.kind == 'usernamePassword' }
    assert binding.credentialsId == 'clanforge-keys'
    List<Map> writes = p.named('writeFile')
    assert writes*.text == [Pipeline.SECRETS.access, Pipeline.SECRETS.secret]
    String folder = (writes[0].file as String).tokenize('/')[0]
    assert folder.startsWith('.clanforge-gate-secrets-')
    assert writes*.file == ["${folder}/access-key", "${folder}/secret-key"]*.toString()
    Map mkdir = p.named('sh')[0]
    assert mkdir.script == 'umask 077 && mkdir "$CLANFORGE_GATE_SECRETS"' && mkdir.env.CLANFORGE_GATE_SECRETS == folder
    List<String> order = p.order()
    assert order.indexOf('writeFile') < order.indexOf('inside')
    Map gate = p.named('sh').find { it.returnStatus }
    assert gate.env.CLANFORGE_ACCESS_KEY_FILE == "/agent/workspace/job/${folder}/access-key"
    assert gate.env.CLANFORGE_SECRET_KEY_FILE == "/agent/workspace/job/${folder}/secret-key"
    assert !gate.env.containsKey('CLANFORGE_GATE_USERNAME') && !gate.env.containsKey('CLANFORGE_GATE_PASSWORD')
    noSecretOnACommandLine(p)
    assert p.named('sh').any { it.script == 'chmod 600 "$CLANFORGE_GATE_SECRETS"/*' }
    assert p.one('dir').path == folder && p.one('deleteDir')
    assert order.lastIndexOf('deleteDir') > order.indexOf('inside')
}

tests['Secret text: the token goes to a file the same way'] = {
    Pipeline p = new Pipeline()
    Map options = [updateId: '1001', accountServiceId: '7890', tokenCredentialsId: 'clanforge-token']
    def (value, failure) = run(stepFile, p, options)
    assert value == 'succeeded'
    assert p.credentials*.kind == ['string'] && p.credentials[0].credentialsId == 'clanforge-token'
    assert p.one('writeFile').text == Pipeline.SECRETS.token
    Map gate = p.named('sh').find { it.returnStatus }
    assert (gate.env.CLANFORGE_TOKEN_FILE as String).endsWith('/token')
    noSecretOnACommandLine(p)
    p.one('deleteDir')
}

tests['Secret files: bound as files around the container, only their paths in the environment'] = {
    Pipeline p = new Pipeline()
    Map options = [updateId: '1001', accountServiceId: '7890', accessKeyCredentialsId: 'ak-file', secretKeyCredentialsId: 'sk-file']
    def (value, failure) = run(stepFile, p, options)
    assert value == 'succeeded'
    assert p.credentials*.variable == ['CLANFORGE_ACCESS_KEY_FILE', 'CLANFORGE_SECRET_KEY_FILE']
    assert p.credentials*.kind == ['file', 'file']
    Map gate = p.named('sh').find { it.returnStatus }
    assert gate.env.CLANFORGE_ACCESS_KEY_FILE == '/agent/secretFiles/ak-file'
    assert !p.named('writeFile')
    Pipeline token = new Pipeline()
    run(stepFile, token, [updateId: '1001', accountServiceId: '7890', tokenFileCredentialsId: 'token-file'])
    assert token.credentials*.variable == ['CLANFORGE_TOKEN_FILE']
}

tests['credentials: none, two kinds, or half a pair are refused before anything runs'] = {
    [
        [updateId: '1'],
        [updateId: '1', credentialsId: 'a', tokenCredentialsId: 'b'],
        [updateId: '1', accessKeyCredentialsId: 'a'],
    ].each { Map options ->
        Pipeline p = new Pipeline()
        def (value, failure) = run(stepFile, p, options)
        assert failure != null && failure.message.startsWith('clanforgeGate: ')
        assert !p.named('inside') && !p.named('withCredentials')
    }
}

tests['deploy: the command and its settings reach the gate as its variables'] = {
    Pipeline p = new Pipeline()
    Map options = base + [command: 'deploy', imageId: '2001', machineId: 1, restart: true, desc: 'build 42',
                          maxFailedMachines: 2, skipInstall: true, timeout: '1h']
    def (value, failure) = run(stepFile, p, options)
    assert value == 'succeeded'
    Map gate = p.named('sh').find { it.returnStatus }
    assert gate.env.subMap(['CLANFORGE_GATE_COMMAND', 'CLANFORGE_IMAGE_ID', 'CLANFORGE_MACHINE_ID', 'CLANFORGE_RESTART',
                            'CLANFORGE_DESC', 'CLANFORGE_MAX_FAILED_MACHINES', 'CLANFORGE_SKIP_INSTALL', 'CLANFORGE_TIMEOUT']) == [
        CLANFORGE_GATE_COMMAND: 'deploy', CLANFORGE_IMAGE_ID: '2001', CLANFORGE_MACHINE_ID: '1', CLANFORGE_RESTART: 'true',
        CLANFORGE_DESC: 'build 42', CLANFORGE_MAX_FAILED_MACHINES: '2', CLANFORGE_SKIP_INSTALL: 'true', CLANFORGE_TIMEOUT: '1h']
    assert !gate.env.containsKey('CLANFORGE_FULL')
    Pipeline failed = new Pipeline(exitCode: 1)
    def (v2, f2) = run(stepFile, failed, options)
    assert f2.message.startsWith('clanforge-gate deploy: failed (exit code 1)')
}

tests['check: reachable; an unknown command is refused'] = {
    Pipeline p = new Pipeline()
    run(stepFile, p, base + [command: 'check'])
    assert p.named('sh').find { it.returnStatus }.env.CLANFORGE_GATE_COMMAND == 'check'
    Pipeline bad = new Pipeline()
    def (value, failure) = run(stepFile, bad, base + [command: 'rollout'])
    assert failure.message == "clanforgeGate: command 'rollout' is not one of wait, deploy, check"
    assert !bad.named('inside')
}

tests['report paths given by the caller are the ones recorded and archived'] = {
    Pipeline p = new Pipeline()
    run(stepFile, p, base + [resultFile: 'out/gate.json', junitFile: 'out/gate.xml'])
    assert p.one('junit').testResults == 'out/gate.xml'
    assert p.one('archiveArtifacts').artifacts == 'out/gate.json'
}

tests['an aborted build (the sh step throws) still records the reports and removes the credentials folder'] = {
    Pipeline p = new Pipeline(onSh: { Map a -> if (a.returnStatus) { throw new InterruptedException('aborted') } })
    try {
        run(stepFile, p, base)
        assert false: 'the interruption was swallowed'
    } catch (InterruptedException expected) {
        assert expected.message == 'aborted'
    }
    p.one('junit')
    p.one('archiveArtifacts')
    p.one('deleteDir')
}


// --- mode: 'native' ------------------------------------------------------------------------------

[true, false].each { boolean unix ->
    String agent = unix ? 'Unix' : 'Windows'
    [0: 'succeeded', 1: 'failed', 2: 'timed_out', 3: 'error', 143: 'cancelled'].each { int code, String outcome ->
        tests["native on ${agent}, exit code ${code}: the agent's clanforge-gate, ${outcome}, the same reports and build result"] = {
            Pipeline p = new Pipeline(exitCode: code, unix: unix)
            def (value, failure) = run(stepFile, p, base + [mode: 'native'])
            assert !p.named('inside'), 'no container in the native mode'
            Map gate = p.named(unix ? 'sh' : 'bat').find { it.returnStatus }
            assert gate.script == (unix ? 'clanforge-gate "$CLANFORGE_GATE_COMMAND"' : '@clanforge-gate %CLANFORGE_GATE_COMMAND%')
            assert gate.env.CLANFORGE_GATE_COMMAND == 'wait' && gate.env.CLANFORGE_UPDATE_ID == '1001'
            assert gate.env.CLANFORGE_RESULT_FILE == 'clanforge-gate-result.json'
            assert p.one('junit').testResults == 'clanforge-gate-junit.xml'
            assert p.one('archiveArtifacts').artifacts == 'clanforge-gate-result.json'
            if (outcome == 'succeeded') {
                assert value == 'succeeded' && p.result == 'SUCCESS'
            } else if (outcome == 'timed_out') {
                assert value == 'timed_out' && p.result == 'UNSTABLE'
            } else {
                assert failure.message.startsWith("clanforge-gate wait: ${outcome} (exit code ${code})") && p.result == 'FAILURE'
            }
            noSecretOnACommandLine(p)
        }
    }
}

tests['native on Windows: the keys go to files of a folder without inherited access, paths with backslashes'] = {
    Pipeline p = new Pipeline(unix: false)
    def (value, failure) = run(stepFile, p, base + [mode: 'native'])
    assert value == 'succeeded'
    assert !p.named('sh'), 'no sh on Windows'
    List<Map> bats = p.named('bat')
    assert bats.size() == 2
    String folder = (p.named('writeFile')[0].file as String).tokenize('/')[0]
    assert bats[0].script.startsWith('@mkdir "%CLANFORGE_GATE_SECRETS%" && icacls "%CLANFORGE_GATE_SECRETS%" /inheritance:r /grant:r ')
    assert bats[0].env.CLANFORGE_GATE_SECRETS == folder && !bats[0].returnStatus
    List<String> order = p.order()
    assert order.indexOf('bat') < order.indexOf('writeFile'), 'the folder is private before the keys are written'
    assert p.named('writeFile')*.text == [Pipeline.SECRETS.access, Pipeline.SECRETS.secret]
    Map gate = bats[1]
    assert gate.returnStatus
    assert gate.env.CLANFORGE_ACCESS_KEY_FILE == "/agent/workspace/job\\${folder}\\access-key"
    assert gate.env.CLANFORGE_SECRET_KEY_FILE == "/agent/workspace/job\\${folder}\\secret-key"
    assert !gate.env.containsKey('CLANFORGE_GATE_USERNAME') && !gate.env.containsKey('CLANFORGE_GATE_PASSWORD')
    noSecretOnACommandLine(p)
    assert p.one('dir').path == folder && p.one('deleteDir')
    assert order.lastIndexOf('deleteDir') > order.lastIndexOf('bat')
}

tests['native with Secret files: only their paths, nothing written, on either agent'] = {
    [true, false].each { boolean unix ->
        Pipeline p = new Pipeline(unix: unix)
        Map options = [updateId: '1001', accountServiceId: '7890', tokenFileCredentialsId: 'token-file', mode: 'native']
        def (value, failure) = run(stepFile, p, options)
        assert value == 'succeeded'
        assert !p.named('writeFile') && !p.named('inside')
        assert p.named(unix ? 'sh' : 'bat')*.returnStatus == [true]
        assert p.named(unix ? 'sh' : 'bat')[0].env.CLANFORGE_TOKEN_FILE == '/agent/secretFiles/token-file'
    }
}

tests['native on Windows: an aborted build still records the reports and removes the credentials folder'] = {
    Pipeline p = new Pipeline(unix: false, onSh: { Map a -> if (a.returnStatus) { throw new InterruptedException('aborted') } })
    try {
        run(stepFile, p, base + [mode: 'native'])
        assert false: 'the interruption was swallowed'
    } catch (InterruptedException expected) {
        assert expected.message == 'aborted'
    }
    p.one('junit')
    p.one('archiveArtifacts')
    p.one('deleteDir')
}

tests['an unknown mode, or an image with the native mode, is refused before anything runs'] = {
    Pipeline p = new Pipeline()
    def (value, failure) = run(stepFile, p, base + [mode: 'podman'])
    assert failure.message == "clanforgeGate: mode 'podman' is not one of container, native"
    Pipeline q = new Pipeline()
    def (v2, f2) = run(stepFile, q, base + [mode: 'native', image: 'registry.example/gate:1'])
    assert f2.message.startsWith("clanforgeGate: image is for mode: 'container'")
    [p, q].each { Pipeline seen -> assert !seen.named('sh') && !seen.named('inside') && !seen.named('withCredentials') }
}

tests['the default mode is the container, as before'] = {
    Pipeline p = new Pipeline()
    run(stepFile, p, base)
    // The container mode runs sh inside the Linux image, whatever the agent: isUnix is not asked.
    p.one('inside')
    assert !p.named('isUnix')
}

int passed = 0
List<String> failures = []
tests.each { String name, Closure test ->
    try {
        test()
        passed++
        println("ok    ${name}")
    } catch (Throwable e) {
        failures << name
        println("FAIL  ${name}\n      ${e.toString().readLines().take(12).join('\n      ')}")
    }
}
println("clanforgeGate: ${passed} passed, ${failures.size()} failed")
System.exit(failures ? 1 : 0)
