// Syntax check of Groovy files (Jenkinsfiles, shared-library steps), offline, without Jenkins:
// each file is parsed and converted to an AST (the CONVERSION phase), which catches syntax errors
// but resolves no class or step name, so the pipeline DSL needs none of Jenkins' plugins.
//   groovy scripts/check-groovy.groovy examples/jenkins/Jenkinsfile vars/*.groovy
import org.codehaus.groovy.control.CompilationFailedException
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.Phases

if (!args) {
    System.err.println('usage: groovy check-groovy.groovy FILE...')
    System.exit(2)
}
int failures = 0
args.each { String path ->
    File file = new File(path)
    if (!file.isFile()) {
        System.err.println("${path}: no such file")
        failures++
        return
    }
    CompilationUnit unit = new CompilationUnit()
    unit.addSource(file)
    try {
        unit.compile(Phases.CONVERSION)
        println("${path}: ok")
    } catch (CompilationFailedException e) {
        System.err.println("${path}: ${e.message}")
        failures++
    }
}
System.exit(failures ? 1 : 0)
