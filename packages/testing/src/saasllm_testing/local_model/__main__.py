from saasllm_testing.local_model.cli import main

main()
