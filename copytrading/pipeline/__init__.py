"""The copy pipeline: claim → guard → quote → size → sign once → POST → classify → record,
and the reconciler/sweeper that finish what a crash left behind."""
