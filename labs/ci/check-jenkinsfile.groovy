// A Jenkinsfile check without Jenkins: Groovy syntax (compile), then the
// declarative structure walked with a small grammar (directive names at
// each level), then every steps/script/post block and the helper methods
// executed against stub steps (sh, withEnv, junit, ...), with each sh
// script checked by `sh -n`.  Run: groovy check-jenkinsfile.groovy FILE

def file = new File(args[0])
def shell = new GroovyShell()
shell.parse(file)          // syntax
println "syntax: ok"

def grammar = [
	pipeline   : ['agent', 'options', 'parameters', 'environment', 'stages', 'post', 'triggers', 'tools'],
	agent      : ['label', 'node', 'docker', 'dockerfile'],
	options    : ['timestamps', 'timeout', 'buildDiscarder', 'logRotator', 'disableConcurrentBuilds', 'skipDefaultCheckout', 'retry'],
	parameters : ['string', 'booleanParam', 'choice', 'text', 'password'],
	environment: [],
	stages     : ['stage'],
	stage      : ['agent', 'steps', 'parallel', 'when', 'post', 'environment', 'options', 'stages', 'input', 'tools'],
	parallel   : ['stage'],
	when       : ['expression', 'branch', 'environment', 'not', 'allOf', 'anyOf', 'changeRequest', 'beforeAgent'],
	post       : ['always', 'success', 'failure', 'unstable', 'unsuccessful', 'changed', 'fixed', 'regression', 'aborted', 'cleanup'],
]
def blockish = ['steps', 'script', 'always', 'success', 'failure', 'unstable', 'unsuccessful',
		'changed', 'fixed', 'regression', 'aborted', 'cleanup']

def shScripts = []
def params = [:]
def envMap = [BUILD_TAG: 'jenkins-lab-42', WORKSPACE: '/ws']
int shStatus = 0

// Stub steps, the ones the Jenkinsfile may use (Pipeline: Basic Steps,
// Nodes and Processes, JUnit, workflow-scm-step).
def steps = [
	sh: { a -> def s = a instanceof Map ? a.script : a; shScripts << s; a instanceof Map && a.returnStatus ? shStatus : '' },
	withEnv: { List l, Closure c -> l.each { assert it ==~ /[A-Z_]+=.*/ : "withEnv entry $it" }; c() },
	archiveArtifacts: { Map m -> assert m.artifacts },
	junit: { Map m -> assert m.testResults },
	unstable: { String m -> println "  unstable: $m" },
	error: { String m -> println "  error: $m" },
	node: { String l, Closure c -> c() },
	checkout: { x -> },
	echo: { String s -> },
]

class Ctx {
	static Object script	// the Jenkinsfile: its own methods (def labRun ...)
	String kind
	Map grammar
	List blockish
	Map steps
	Map params
	List path
	def methodMissing(String name, args) {
		def a = args as List
		if (script != null && script.metaClass.respondsTo(script, name))
			return script.invokeMethod(name, args)
		if (kind in blockish || kind == 'script') {
			if (name == 'script') { return run('script', a[-1]) }
			if (steps.containsKey(name)) { return steps[name](*a) }
			throw new MissingMethodException(name, Ctx, args)
		}
		def allowed = grammar[kind]
		if (allowed == null || !(name in allowed))
			throw new IllegalStateException("${path.join(' > ')}: '${name}' is not allowed in ${kind}")
		if (kind == 'parameters')
			params.putIfAbsent(a[0].name, a[0].defaultValue)
		if (a && a[-1] instanceof Closure)
			return run(name == 'stage' ? 'stage' : name, a[-1], name == 'stage' ? "stage ${a[0]}" : name)
		return name
	}
	def propertyMissing(String name) {
		if (kind == 'pipeline' || kind == 'stage') return name   // agent none / any
		if (kind in blockish || kind == 'script')
			throw new MissingPropertyException(name, Ctx)
		return name
	}
	def propertyMissing(String name, value) {
		if (kind != 'environment')
			throw new IllegalStateException("${path.join(' > ')}: assignment to ${name} outside environment")
	}
	def run(String k, Closure c, String label = k) {
		def d = new Ctx(kind: k, grammar: grammar, blockish: blockish, steps: steps,
				params: params, path: path + [label])
		def cl = c.rehydrate(d, c.owner, c.thisObject)
		cl.resolveStrategy = Closure.DELEGATE_FIRST
		cl()
	}
}

def binding = new Binding()
def root = new Ctx(kind: 'root', grammar: grammar + [root: ['pipeline']], blockish: blockish,
		   steps: steps, params: params, path: [])
binding.setVariable('pipeline', { Closure c -> root.run('pipeline', c) })
binding.setVariable('params', params)
binding.setVariable('env', envMap)
binding.setVariable('scm', 'scm')
binding.setVariable('none', 'none')
steps.each { k, v -> binding.setVariable(k, v) }

// Pass 1: the structure with the parameters' defaults.
def script = shell.parse(file)
script.binding = binding
Ctx.script = script
script.run()
println "structure: ok (parameters: ${params.keySet().join(', ')})"
// Pass 2: the other branches (a failed run, a bisect, a pool).
params.BISECT_GOOD = 'v1.0'
params.POOL = true
shStatus = 1
binding.setVariable('pipeline', { Closure c -> root.run('pipeline', c) })
script.run()
println "branches: ok (${shScripts.size()} sh steps)"
// Every sh script is valid POSIX sh.
shScripts.unique().eachWithIndex { s, i ->
	def p = ['sh', '-n', '-c', s].execute()
	p.waitFor()
	assert p.exitValue() == 0 : "sh -n failed for: $s\n${p.err.text}"
}
println "sh -n: ok (${shScripts.unique().size()} distinct scripts)"
shScripts.unique().each { println "  \$ " + it.trim().replaceAll(/\s+/, ' ') }
