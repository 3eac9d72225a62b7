"""Knowledge-grounded meme classification (P5, CROSS-ALIGN+): benign, satire or abusive, with explanations.

One module per role: ``synth/`` draws the synthetic corpus, ``datasets/`` reads the public benchmarks' layouts,
``knowledge`` retrieves triples from local snapshots, ``vision`` and ``sides`` are the image and text encoders,
``model`` the classifier and its folder, ``train`` its training, ``ablation`` the three settings trained and
scored, ``explain`` the explanation cascade and ``artifacts`` the P5 build.
"""
