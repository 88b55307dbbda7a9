from saasllm_testing.fake.cli import main

main()
